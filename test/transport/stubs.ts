// A stub TokenVerifyService and Authenticator for the transport tests.
//
// The transports must not care what the service does, only that requests, callers, errors and
// streams cross them intact, so the stub turns its input into observable behaviour: the
// credential picks the outcome, the response echoes the caller and the protocol that carried it.

import type { ServiceImpl } from "@connectrpc/connect";
import { TesseraError } from "../../src/domain/errors.js";
import { kCaller, type Authenticator, type Caller } from "../../src/services/caller.js";
import { type TokenVerifyService, VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";

export const GOOD_TOKEN = "Bearer good";

export const STUB_CALLER: Caller = {
  tokenId: "tok-verifier-1",
  kind: "VERIFIER",
  orgId: "org-1",
  userId: undefined,
  operator: false,
  role: undefined,
};

/** Accepts only `Bearer good`; no header means anonymous. */
export const stubAuthenticate: Authenticator = async (authorization) => {
  if (authorization === undefined) return undefined;
  if (authorization === GOOD_TOKEN) return STUB_CALLER;
  throw new TesseraError("UNAUTHENTICATED", "the token is not valid");
};

/** What the stub saw, for tests that look at the server side of a stream. */
export interface StubState {
  /** Messages the endless stream has produced so far. */
  produced: number;
  /** Set when an endless stream's consumer went away and the service noticed. */
  cancelled: boolean;
}

export function createStubState(): StubState {
  return { produced: 0, cancelled: false };
}

/**
 * Verify: "ok" → allowed; "bad" → INVALID_ARGUMENT; "boom" → a plain Error with a secret message;
 * anything else → refused. WatchRevocations: after_cursor "" → three checkpoints; "boom" → one
 * checkpoint then a plain Error; "forever" → checkpoints until the client goes away; "big" →
 * 200 checkpoints of 64 KiB each.
 */
export function createStubVerifyService(state: StubState): ServiceImpl<typeof TokenVerifyService> {
  return {
    async verify(req, ctx) {
      const caller = requireCaller(ctx.values.get(kCaller));
      if (req.credential === "bad") throw new TesseraError("INVALID_ARGUMENT", 'credential "bad" is not acceptable');
      if (req.credential === "boom") throw new Error("secret internal detail /path");
      const allowed = req.credential === "ok";
      return {
        allowed,
        status: allowed ? VerifyStatus.VALID : VerifyStatus.NOT_FOUND,
        principal: { tokenName: req.credential, tokenId: caller.tokenId, organizationId: caller.orgId },
        cursor: ctx.protocolName,
      };
    },
    async *watchRevocations(req, ctx) {
      requireCaller(ctx.values.get(kCaller));
      switch (req.afterCursor) {
        case "boom":
          yield checkpoint("c1");
          throw new Error("secret internal detail /path");
        case "forever":
          try {
            for (let i = 1; ; i++) {
              state.produced = i;
              yield checkpoint(`c${i}`);
              await sleep(5, ctx.signal);
            }
          } finally {
            state.cancelled = ctx.signal.aborted;
          }
        case "big": {
          const pad = "x".repeat(64 * 1024);
          for (let i = 1; i <= 200; i++) {
            state.produced = i;
            yield checkpoint(`${i}:${pad}`);
          }
          return;
        }
        default:
          for (let i = 1; i <= 3; i++) yield checkpoint(`c${i}`);
      }
    },
  };
}

function requireCaller(caller: Caller | undefined): Caller {
  if (caller === undefined) throw new TesseraError("UNAUTHENTICATED", "this call needs a token");
  if (caller.tokenId !== STUB_CALLER.tokenId) throw new Error("the caller did not come from the authenticator");
  return caller;
}

function checkpoint(cursor: string) {
  return { item: { case: "checkpoint" as const, value: { cursor } } };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

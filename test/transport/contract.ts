// What every client/listener pair must show, written once and run for each real client:
// grpc-js on the gRPC port; Connect (HTTP/1.1 and HTTP/2), gRPC and gRPC-web on the HTTP port.

import assert from "node:assert/strict";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type {
  VerifyRequestSchema,
  VerifyResponse,
  WatchRevocationsRequestSchema,
  WatchRevocationsResponse,
} from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { GOOD_TOKEN, STUB_CALLER } from "./stubs.js";

/** The two stub methods, called through one real client. */
export interface VerifyClient {
  verify(req: MessageInitShape<typeof VerifyRequestSchema>, authorization?: string): Promise<VerifyResponse>;
  watch(req: MessageInitShape<typeof WatchRevocationsRequestSchema>, authorization?: string): AsyncIterable<WatchRevocationsResponse>;
}

export interface LogEntry {
  event: string;
  fields: Record<string, unknown>;
}

export function describeRpcContract(title: string, ctx: { client: () => VerifyClient; protocol: string; logs: LogEntry[] }): void {
  describe(title, () => {
    it("answers a unary call with the service response, over the expected protocol", async () => {
      const res = await ctx.client().verify({ credential: "ok" }, GOOD_TOKEN);
      assert.equal(res.allowed, true);
      assert.equal(res.principal?.tokenName, "ok");
      assert.equal(res.cursor, ctx.protocol);
    });

    it("passes the authenticated caller to the service", async () => {
      const res = await ctx.client().verify({ credential: "someone-else" }, GOOD_TOKEN);
      assert.equal(res.allowed, false);
      assert.equal(res.principal?.tokenId, STUB_CALLER.tokenId);
      assert.equal(res.principal?.organizationId, STUB_CALLER.orgId);
    });

    it("maps a TesseraError to the code of the same name with its public message", async () => {
      await assertRpcError(
        ctx.client().verify({ credential: "bad" }, GOOD_TOKEN),
        Code.InvalidArgument,
        'credential "bad" is not acceptable',
      );
    });

    it("hides a plain Error behind INTERNAL and logs its cause instead", async () => {
      ctx.logs.length = 0;
      const err = await assertRpcError(ctx.client().verify({ credential: "boom" }, GOOD_TOKEN), Code.Internal, "internal error");
      assertNothingSecret(err);
      assert.ok(
        ctx.logs.some((l) => l.fields["error"] === "secret internal detail /path"),
        "the cause reaches the log",
      );
    });

    it("refuses an unacceptable token with UNAUTHENTICATED", async () => {
      await assertRpcError(ctx.client().verify({ credential: "ok" }, "Bearer nope"), Code.Unauthenticated, "the token is not valid");
    });

    it("hands a call without a token to the service as anonymous", async () => {
      await assertRpcError(ctx.client().verify({ credential: "ok" }), Code.Unauthenticated, "this call needs a token");
    });

    it("streams every server message and then ends", async () => {
      const cursors: string[] = [];
      for await (const msg of ctx.client().watch({}, GOOD_TOKEN)) {
        assert.equal(msg.item.case, "checkpoint");
        cursors.push(msg.item.value?.cursor ?? "");
      }
      assert.deepEqual(cursors, ["c1", "c2", "c3"]);
    });

    it("ends a stream that fails midway with INTERNAL after the messages already sent", async () => {
      const cursors: string[] = [];
      const run = async (): Promise<void> => {
        for await (const msg of ctx.client().watch({ afterCursor: "boom" }, GOOD_TOKEN)) cursors.push(msg.item.value?.cursor ?? "");
      };
      assertNothingSecret(await assertRpcError(run(), Code.Internal, "internal error"));
      assert.deepEqual(cursors, ["c1"]);
    });

    it("refuses a streaming call with an unacceptable token", async () => {
      const run = async (): Promise<void> => {
        for await (const _ of ctx.client().watch({}, "Bearer nope")) assert.fail("no message expected");
      };
      await assertRpcError(run(), Code.Unauthenticated, "the token is not valid");
    });

    it("rejects a request over 4 MiB with RESOURCE_EXHAUSTED and keeps serving", async () => {
      const huge = "x".repeat(4 * 1024 * 1024 + 16);
      await assertRpcError(ctx.client().verify({ credential: huge }, GOOD_TOKEN), Code.ResourceExhausted);
      const res = await ctx.client().verify({ credential: "ok" }, GOOD_TOKEN);
      assert.equal(res.allowed, true);
    });
  });
}

/** Awaits a rejection with a ConnectError of `code` (and `message`, when given), and returns it. */
async function assertRpcError(p: Promise<unknown>, code: Code, message?: string): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ConnectError, `expected a ConnectError, got ${String(err)}`);
    assert.equal(Code[err.code], Code[code], `code (message: ${err.rawMessage})`);
    if (message !== undefined) assert.equal(err.rawMessage, message);
    return err;
  }
  assert.fail(`expected the call to fail with ${Code[code]}`);
}

function assertNothingSecret(err: ConnectError): void {
  for (const text of [err.rawMessage, err.message, JSON.stringify([...err.metadata])]) {
    assert.ok(!text.includes("secret"), text);
    assert.ok(!text.includes("/path"), text);
    assert.ok(!text.includes("at "), text);
  }
}

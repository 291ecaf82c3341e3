/**
 * What the audit trail records about a request besides its caller: its id, the peer address and
 * the user agent. The transports leave the peer under kPeer (the grpc-js call itself, or a small
 * object for the HTTP listener), read only when something is recorded, so Verify pays nothing.
 */
import { randomUUID } from "node:crypto";
import { createContextKey, type HandlerContext } from "@connectrpc/connect";

export interface PeerSource {
  getPeer(): string;
}

export const kPeer = createContextKey<PeerSource | undefined>(undefined, { description: "tessera peer address" });

export interface RequestInfo {
  requestId: string;
  peer: string;
  userAgent: string;
  /** `/package.Service/Method`. */
  rpc: string;
}

/** A caller's own request id is kept when it is one a log line can carry safely. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const MAX_USER_AGENT = 256;

/** The caller's `x-request-id` when it is well-formed, else a new one. */
export function requestIdOf(sent: string | null | undefined): string {
  return typeof sent === "string" && REQUEST_ID.test(sent) ? sent : randomUUID();
}

export function requestInfo(ctx: HandlerContext): RequestInfo {
  const h = ctx.requestHeader;
  return requestInfoFrom((name) => h.get(name), ctx.values.get(kPeer), `/${ctx.service.typeName}/${ctx.method.name}`);
}

/** The same from a request's parts, where no handler context exists yet (a refused credential). */
export function requestInfoFrom(
  header: (name: string) => string | null | undefined,
  peer: PeerSource | undefined,
  rpc: string,
): RequestInfo {
  const ua = header("user-agent") ?? "";
  return {
    requestId: requestIdOf(header("x-request-id")),
    peer: peer?.getPeer() ?? "",
    userAgent: ua.length > MAX_USER_AGENT ? ua.slice(0, MAX_USER_AGENT) : ua,
    rpc,
  };
}

/** What a transport reports when it refused a call's credential, before any handler ran. */
export interface AuthRefusal {
  err: unknown;
  rpc: string;
  header(name: string): string | null | undefined;
  peer: PeerSource | undefined;
}

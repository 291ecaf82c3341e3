/**
 * The authenticated caller of an RPC.
 *
 * Authentication happens once per call at the transport edge (a Connect interceptor, or its
 * grpc-js twin in the gRPC adapter); both call the same `Authenticator` and hand the result to
 * the service through `kCaller`. Handlers never parse headers themselves.
 */
import { createContextKey } from "@connectrpc/connect";
import type { RoleName } from "../domain/model.js";
import type { TokenKind } from "../domain/token-format.js";

/** Who is calling, resolved from the caller's token at the edge. */
export interface Caller {
  tokenId: string;
  kind: TokenKind;
  /** The organization the caller's token belongs to: the default organization context. */
  orgId: string;
  /** The user the token is bound to, for user-bound kinds. */
  userId: string | undefined;
  /** True for an OPERATOR token whose owner is still a root user. */
  operator: boolean;
  /** The caller's effective role in its own organization (token ∩ owner's current role). */
  role: RoleName | undefined;
}

/**
 * Resolves the `authorization` header value into a caller. Returns undefined when the header is
 * absent; throws TesseraError('UNAUTHENTICATED') when it is present but not acceptable.
 */
export type Authenticator = (authorization: string | undefined) => Promise<Caller | undefined>;

/** Where the edge leaves the caller for the service. */
export const kCaller = createContextKey<Caller | undefined>(undefined, { description: "tessera caller" });

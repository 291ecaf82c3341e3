/**
 * TokenVerifyService, implemented once for every transport.
 *
 * Verify answers with data: a refused credential is `allowed = false` and a status, never an RPC
 * error. RPC errors are kept for the caller's own problems (no or wrong verifier credentials) and
 * for the service's (database unavailable).
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate, durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  PrincipalSchema,
  VerifyResponseSchema,
  VerifyStatus,
  type TokenVerifyService,
  type VerifyRequest,
  type VerifyResponse,
} from "../gen/tessera/v1/token_verify_service_pb.js";
import { EndpointClass } from "../gen/tessera/v1/resources_pb.js";
import { parseCredential } from "../domain/credential.js";
import { decide, type EndpointClassName, type VerifyStatusName } from "../domain/decide.js";
import { permissionDenied, unauthenticated } from "../domain/errors.js";
import type { TokenLookup } from "../domain/model.js";
import { kCaller } from "./caller.js";
import { KIND_TO_PB, ROLE_TO_PB, permissionsToPb, signalFromPb } from "./convert.js";
import type { ServiceDeps } from "./deps.js";

const ENDPOINTS: Partial<Record<EndpointClass, EndpointClassName>> = {
  [EndpointClass.INGEST]: "INGEST",
  [EndpointClass.QUERY]: "QUERY",
  [EndpointClass.ADMIN]: "ADMIN",
  [EndpointClass.SHARED_VIEW]: "SHARED_VIEW",
};

const STATUS: Record<VerifyStatusName, VerifyStatus> = {
  VALID: VerifyStatus.VALID,
  MALFORMED: VerifyStatus.MALFORMED,
  NOT_FOUND: VerifyStatus.NOT_FOUND,
  DISABLED: VerifyStatus.DISABLED,
  EXPIRED: VerifyStatus.EXPIRED,
  WRONG_ENDPOINT: VerifyStatus.WRONG_ENDPOINT,
  FORBIDDEN: VerifyStatus.FORBIDDEN,
  OWNER_INACTIVE: VerifyStatus.OWNER_INACTIVE,
  ORGANIZATION_DISABLED: VerifyStatus.ORGANIZATION_DISABLED,
};

/** How long a cache following WatchRevocations may keep an answer. */
const CACHE_TTL_MS = 60_000;
const MAX_IDENTIFIER = 256;

export function requireVerifier(ctx: HandlerContext): void {
  const caller = ctx.values.get(kCaller);
  if (caller === undefined) throw unauthenticated('missing credentials: send "authorization: Bearer <verifier token>"');
  if (caller.kind !== "VERIFIER" && caller.kind !== "OPERATOR") {
    throw permissionDenied(`a ${caller.kind} token cannot call the verify API; use a VERIFIER token`);
  }
}

const malformed = (): VerifyResponse => create(VerifyResponseSchema, { allowed: false, status: VerifyStatus.MALFORMED });

export function createTokenVerifyService(deps: ServiceDeps): Partial<ServiceImpl<typeof TokenVerifyService>> {
  async function verify(req: VerifyRequest, ctx: HandlerContext): Promise<VerifyResponse> {
    requireVerifier(ctx);
    const endpoint = ENDPOINTS[req.endpoint];
    if (endpoint === undefined) return malformed();
    const cred = parseCredential(req.credential);
    if (!cred.ok) return malformed();
    if (req.organization.length > MAX_IDENTIFIER) return respond(undefined, "NOT_FOUND");
    // A Basic credential names its organization too; two different names can match nothing.
    const orgIdentifier = req.organization !== "" ? req.organization : (cred.orgIdentifier ?? "");
    if (cred.orgIdentifier !== undefined && req.organization !== "" && cred.orgIdentifier !== req.organization) {
      return respond(undefined, "NOT_FOUND");
    }
    const r = await deps.lookup.lookup(cred.token, orgIdentifier);
    if ("malformed" in r) return malformed();
    const d = decide(r.found, { orgIdentifier, endpoint, bucket: req.bucket, signal: signalFromPb(req.signal) }, deps.now());
    return respond(r.found, d.status, d.allowed, d.role);
  }
  return {
    verify,
    // eslint-disable-next-line require-yield
    async *watchRevocations() {
      throw new ConnectError("WatchRevocations is not available yet", Code.Unimplemented);
    },
  };
}

function respond(
  t: TokenLookup | undefined,
  status: VerifyStatusName,
  allowed = false,
  role?: import("./caller.js").RoleName,
): VerifyResponse {
  // A token that exists elsewhere must look exactly like one that does not exist at all.
  const reveal = t !== undefined && status !== "NOT_FOUND";
  return create(VerifyResponseSchema, {
    allowed,
    status: STATUS[status],
    principal: reveal
      ? create(PrincipalSchema, {
          organizationId: t.orgId,
          organizationIdentifier: t.orgIdentifier,
          tokenId: t.tokenId,
          kind: KIND_TO_PB[t.kind],
          ownerUserId: t.ownerUserId ?? "",
          tokenName: t.name,
        })
      : undefined,
    permissions: reveal && allowed ? permissionsToPb(t.permissions) : undefined,
    role: role ? ROLE_TO_PB[role] : undefined,
    expireTime: reveal && t.expiresAt ? timestampFromDate(t.expiresAt) : undefined,
    cacheTtl: allowed ? durationFromMs(CACHE_TTL_MS) : undefined,
  });
}

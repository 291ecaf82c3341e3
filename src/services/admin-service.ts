/**
 * TokenAdminService, implemented once and served by every transport (grpc-js, Connect, gRPC-web).
 * Each handler takes the caller the edge authenticated and delegates to its area's module.
 */
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { isTesseraError } from "../domain/errors.js";
import type { TokenAdminService } from "../gen/tessera/v1/token_admin_service_pb.js";
import { adminCaller, anyCaller } from "./access.js";
import { kCaller, type Caller } from "./caller.js";
import type { ServiceDeps } from "./deps.js";
import { requestInfo } from "./request-info.js";
import { AuditScope, callerActor, systemActor } from "./audit/scope.js";
import { listAuditEvents, openAuditWatch, verifyAuditLog, watchAuditEvents } from "./admin/audit.js";
import { checkRequestText } from "./request-text.js";
import { applyManifest } from "./admin/apply.js";
import { createBucket, deleteBucket, listBuckets } from "./admin/buckets.js";
import { getCaller } from "./admin/get-caller.js";
import { createOrganization, getOrganization, listOrgs, setOrganizationEnabled, updateOrganization } from "./admin/organizations.js";
import { setup } from "./admin/setup.js";
import { createToken, deleteToken, getPasscode, getToken, listTokens, rotateToken, setTokenEnabled, updateToken } from "./admin/tokens.js";
import { createUser, deleteUser, getUserById, listMemberships, listUsers, removeMembership, setMembership } from "./admin/users.js";

/** An admin handler: `audit` records what it changes, in the transaction of the change. */
type Handler<I, O> = (deps: ServiceDeps, caller: Caller, req: I, audit: AuditScope) => Promise<O>;

export function createTokenAdminService(deps: ServiceDeps): ServiceImpl<typeof TokenAdminService> {
  /**
   * The caller, and the scope its changes are recorded under. A call refused for its credential
   * or its permissions is recorded here too (in the trail of the caller's organization, or the
   * instance's when there is no caller), off the answer's path.
   */
  const enter = async <T>(ctx: HandlerContext, run: (caller: Caller, audit: AuditScope) => Promise<T>): Promise<T> => {
    const caller = ctx.values.get(kCaller);
    const audit = new AuditScope(deps.audit, caller === undefined ? {} : callerActor(caller), requestInfo(ctx));
    try {
      return await run(adminCaller(ctx), audit);
    } catch (err) {
      if (isTesseraError(err) && (err.code === "PERMISSION_DENIED" || err.code === "UNAUTHENTICATED")) {
        const change = {
          action: err.code === "UNAUTHENTICATED" ? "auth.refused" : "call.denied",
          target: { type: "call", id: audit.info.rpc },
        };
        deps.refusals.record(caller?.orgId, audit, change, err.code, err.publicMessage);
      }
      throw err;
    }
  };
  const authed =
    <I extends object, O>(h: Handler<I, O>) =>
    (req: I, ctx: HandlerContext): Promise<O> =>
      enter(ctx, (caller, audit) => {
        checkRequestText(req);
        return h(deps, caller, req, audit);
      });
  return {
    setup: async (req, ctx) => {
      checkRequestText(req);
      return setup(deps, req, new AuditScope(deps.audit, systemActor("setup"), requestInfo(ctx)));
    },
    createOrganization: authed(createOrganization),
    getOrganization: authed(getOrganization),
    listOrganizations: authed(listOrgs),
    setOrganizationEnabled: authed(setOrganizationEnabled),
    createUser: authed(createUser),
    deleteUser: authed(deleteUser),
    setMembership: authed(setMembership),
    removeMembership: authed(removeMembership),
    createBucket: authed(createBucket),
    listBuckets: authed(listBuckets),
    createToken: authed(createToken),
    getToken: authed(getToken),
    listTokens: authed(listTokens),
    updateToken: authed(updateToken),
    setTokenEnabled: authed(setTokenEnabled),
    rotateToken: authed(rotateToken),
    deleteToken: authed(deleteToken),
    getPasscode: authed(getPasscode),
    updateOrganization: authed(updateOrganization),
    listUsers: authed(listUsers),
    getUser: authed(getUserById),
    listMemberships: authed(listMemberships),
    deleteBucket: authed(deleteBucket),
    applyManifest: authed(applyManifest),
    listAuditEvents: authed(listAuditEvents),
    verifyAuditLog: authed(verifyAuditLog),
    watchAuditEvents: async function* (req, ctx) {
      // The checks run up front, before the stream's first message, so a refusal is recorded as for any call.
      const start = await enter(ctx, (caller) => {
        checkRequestText(req);
        return openAuditWatch(deps, caller, req);
      });
      yield* watchAuditEvents(deps, start, ctx);
    },
    // Any token that authenticates may ask who it is, not only the admin API's callers.
    getCaller: async (req, ctx) => {
      const caller = anyCaller(ctx);
      checkRequestText(req);
      return getCaller(deps, caller);
    },
  };
}

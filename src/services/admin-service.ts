/**
 * TokenAdminService, implemented once and served by every transport (grpc-js, Connect, gRPC-web).
 * Each handler takes the caller the edge authenticated and delegates to its area's module.
 */
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { TokenAdminService } from "../gen/tessera/v1/token_admin_service_pb.js";
import { adminCaller, anyCaller } from "./access.js";
import type { Caller } from "./caller.js";
import type { ServiceDeps } from "./deps.js";
import { checkRequestText } from "./request-text.js";
import { applyManifest } from "./admin/apply.js";
import { createBucket, deleteBucket, listBuckets } from "./admin/buckets.js";
import { getCaller } from "./admin/get-caller.js";
import { createOrganization, getOrganization, listOrgs, setOrganizationEnabled, updateOrganization } from "./admin/organizations.js";
import { setup } from "./admin/setup.js";
import { createToken, deleteToken, getPasscode, getToken, listTokens, rotateToken, setTokenEnabled, updateToken } from "./admin/tokens.js";
import { createUser, deleteUser, getUserById, listMemberships, listUsers, removeMembership, setMembership } from "./admin/users.js";

type Handler<I, O> = (deps: ServiceDeps, caller: Caller, req: I) => Promise<O>;

export function createTokenAdminService(deps: ServiceDeps): ServiceImpl<typeof TokenAdminService> {
  const authed =
    <I extends object, O>(h: Handler<I, O>) =>
    async (req: I, ctx: HandlerContext): Promise<O> => {
      const caller = adminCaller(ctx);
      checkRequestText(req);
      return h(deps, caller, req);
    };
  return {
    setup: async (req) => {
      checkRequestText(req);
      return setup(deps, req);
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
    // Any token that authenticates may ask who it is, not only the admin API's callers.
    getCaller: async (req, ctx) => {
      const caller = anyCaller(ctx);
      checkRequestText(req);
      return getCaller(deps, caller);
    },
  };
}

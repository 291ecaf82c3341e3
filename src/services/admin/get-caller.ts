/**
 * GetCaller: who the presented token is. Any token that authenticates may ask, whatever its kind
 * (an ingestion or verifier token included), and learns only about itself: its organization, its
 * own metadata, its owner and the role it has right now.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { CallerSchema, GetCallerResponseSchema, type GetCallerResponse } from "../../gen/tessera/v1/token_admin_service_pb.js";
import { Role } from "../../gen/tessera/v1/resources_pb.js";
import { unauthenticated } from "../../domain/errors.js";
import { getCurrentOrganization } from "../../store/queries/organizations.js";
import { getToken } from "../../store/queries/tokens.js";
import { getUser } from "../../store/queries/users.js";
import type { Caller } from "../caller.js";
import { KIND_TO_PB, ROLE_TO_PB, userToPb } from "../convert.js";
import type { ServiceDeps } from "../deps.js";

export async function getCaller(deps: ServiceDeps, caller: Caller): Promise<GetCallerResponse> {
  const { token, org } = await deps.db.withOrg(caller.orgId, async (tx) => ({
    token: await getToken(tx, caller.tokenId),
    org: await getCurrentOrganization(tx),
  }));
  // Deleted between authentication and now: it no longer authenticates anything.
  if (token === undefined || org === undefined) throw unauthenticated("invalid token: no such token");
  const owner = token.ownerUserId === null ? undefined : await getUser(deps.db.pool, token.ownerUserId);
  return create(GetCallerResponseSchema, {
    caller: create(CallerSchema, {
      organizationId: org.id,
      organizationIdentifier: org.identifier,
      tokenId: token.id,
      tokenName: token.name,
      tokenKind: KIND_TO_PB[token.kind],
      owner: owner === undefined ? undefined : userToPb(owner),
      role: caller.role === undefined ? Role.UNSPECIFIED : ROLE_TO_PB[caller.role],
      operator: caller.operator,
      expireTime: token.expiresAt === null ? undefined : timestampFromDate(token.expiresAt),
    }),
  });
}

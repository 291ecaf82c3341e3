/**
 * Users and memberships. Users are global, so an organization admin only ever sees users that are
 * members of an organization it reaches; any other user id answers NOT_FOUND, exactly like an id
 * no user has.
 */
import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import {
  CreateUserResponseSchema,
  DeleteUserResponseSchema,
  GetUserResponseSchema,
  ListMembershipsResponseSchema,
  ListUsersResponseSchema,
  MemberSchema,
  RemoveMembershipResponseSchema,
  SetMembershipResponseSchema,
  type GetUserRequest,
  type GetUserResponse,
  type ListMembershipsRequest,
  type ListMembershipsResponse,
  type ListUsersRequest,
  type ListUsersResponse,
  type CreateUserRequest,
  type CreateUserResponse,
  type DeleteUserRequest,
  type DeleteUserResponse,
  type RemoveMembershipRequest,
  type RemoveMembershipResponse,
  type SetMembershipRequest,
  type SetMembershipResponse,
} from "../../gen/tessera/v1/token_admin_service_pb.js";
import { Role } from "../../gen/tessera/v1/resources_pb.js";
import { failedPrecondition, invalidArgument, notFound } from "../../domain/errors.js";
import { validateUserName } from "../../domain/names.js";
import {
  deleteMembership,
  deleteUser as deleteUserRow,
  getMembership,
  getUser,
  insertUser,
  listMembers,
  listVisibleUsers,
  upsertMembership,
  visibleMemberships,
} from "../../store/queries/users.js";
import { requireOperator, requireRole, requireUuid, targetOrg } from "../access.js";
import type { RoleName } from "../../domain/model.js";
import type { Caller } from "../caller.js";
import { membershipToPb, roleFromPb, userToPb } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import type { AuditScope } from "../audit/scope.js";
import { membershipFields, membershipTarget, userFields, userTarget } from "../../domain/audit/audit-fields.js";
import type { Tx } from "../../store/database.js";
import type { TokenEvent } from "../../store/queries/revocations.js";
import { bindPage, decodePageToken, encodePageToken, pageSize } from "../paging.js";

function requireRoleField(role: Role): RoleName {
  const r = roleFromPb(role);
  if (r === undefined) throw invalidArgument("role must be ROLE_VIEWER, ROLE_EDITOR or ROLE_ADMIN");
  return r;
}

export async function createUser(
  deps: ServiceDeps,
  caller: Caller,
  req: CreateUserRequest,
  audit: AuditScope,
): Promise<CreateUserResponse> {
  if (req.name === "") throw invalidArgument("name is required");
  validateUserName(req.name);
  if (req.root) requireOperator(caller, "create a root user");
  // Operators may create a user with no membership; everyone else adds it to an organization.
  const standalone = caller.operator && req.organizationId === "" && req.role === Role.UNSPECIFIED;
  const role = standalone ? undefined : requireRoleField(req.role);
  const orgId = await targetOrg(deps.db, caller, req.organizationId);
  requireRole(caller, "ADMIN", "creating users");
  const out = await deps.db.withOrg(orgId, async (tx) => {
    const user = await insertUser(tx, { id: randomUUID(), name: req.name, root: req.root });
    // A new user owns no tokens yet: its membership announces nothing.
    const membership = role === undefined ? undefined : (await upsertMembership(tx, user.id, role)).membership;
    await audit.record(tx, { action: "user.create", target: userTarget(user), after: userFields(user) });
    if (membership !== undefined) {
      await audit.record(tx, {
        action: "membership.set",
        target: membershipTarget(user.id, user.name),
        after: membershipFields(membership),
      });
    }
    return create(CreateUserResponseSchema, {
      user: userToPb(user),
      membership: membership ? membershipToPb(membership) : undefined,
    });
  });
  deps.log("user_created", {
    userId: out.user?.id,
    root: req.root,
    orgId: role === undefined ? undefined : orgId,
    role,
    by: caller.tokenId,
  });
  return out;
}

export async function deleteUser(
  deps: ServiceDeps,
  caller: Caller,
  req: DeleteUserRequest,
  audit: AuditScope,
): Promise<DeleteUserResponse> {
  const id = requireUuid("id", req.id);
  requireOperator(caller, "delete users; organization admins use RemoveMembership");
  if (id === caller.userId) throw failedPrecondition("an operator cannot delete the user its own token belongs to");
  // Users belong to no organization: the deletion is on the record of the operator's own.
  const ended = await deps.db.withOrg(caller.orgId, async (tx) => {
    const user = await getUser(tx, id);
    const ended = await deleteUserRow(tx, id);
    if (ended === undefined) throw notFound("user");
    await audit.record(tx, {
      action: "user.delete",
      target: user === undefined ? { type: "user", id } : userTarget(user),
      before: user === undefined ? null : userFields(user),
    });
    return ended;
  });
  // This instance stops accepting the user's tokens before the call returns (the feed may be held
  // back by another open transaction); other instances follow the feed.
  deps.hub.applyLocal(ended);
  deps.log("user_deleted", { userId: id, by: caller.tokenId });
  return create(DeleteUserResponseSchema, {});
}

export async function setMembership(
  deps: ServiceDeps,
  caller: Caller,
  req: SetMembershipRequest,
  audit: AuditScope,
): Promise<SetMembershipResponse> {
  const userId = requireUuid("user_id", req.userId);
  const role = requireRoleField(req.role);
  const orgId = await targetOrg(deps.db, caller, req.organizationId);
  requireRole(caller, "ADMIN", "changing memberships");
  const { membership, events } = await deps.db.withOrg(orgId, async (tx) => {
    // Only operators may bring a user in from outside; admins change roles of their members.
    const existing = await getMembership(tx, userId);
    if (existing === undefined) {
      if (!caller.operator || (await getUser(deps.db.pool, userId)) === undefined) throw notFound("user");
    }
    const r = await upsertMembership(tx, userId, role);
    if (r.previous?.role !== role) {
      await audit.record(tx, {
        action: "membership.set",
        target: membershipTarget(userId),
        before: r.previous === undefined ? null : membershipFields(r.previous),
        after: membershipFields(r.membership),
      });
    }
    return r;
  });
  // Committed: this instance re-reads the user's tokens in this organization at once.
  deps.hub.applyLocal(events);
  deps.log("membership_set", { userId, orgId, role, by: caller.tokenId });
  return create(SetMembershipResponseSchema, { membership: membershipToPb(membership) });
}

export async function removeMembership(
  deps: ServiceDeps,
  caller: Caller,
  req: RemoveMembershipRequest,
  audit: AuditScope,
): Promise<RemoveMembershipResponse> {
  const userId = requireUuid("user_id", req.userId);
  const orgId = await targetOrg(deps.db, caller, req.organizationId);
  requireRole(caller, "ADMIN", "changing memberships");
  const ended = await deps.db.withOrg(orgId, (tx) => removeMember(tx, userId, audit));
  deps.hub.applyLocal(ended);
  deps.log("membership_removed", { userId, orgId, by: caller.tokenId });
  return create(RemoveMembershipResponseSchema, {});
}

/** RemoveMembership's change, with its record (ApplyManifest runs it too); the events it announces. */
export async function removeMember(tx: Tx, userId: string, audit: AuditScope): Promise<TokenEvent[]> {
  const previous = await getMembership(tx, userId);
  const ended = await deleteMembership(tx, userId);
  if (ended === undefined || previous === undefined) throw notFound("membership");
  await audit.record(tx, { action: "membership.remove", target: membershipTarget(userId), before: membershipFields(previous) });
  return ended;
}

/** A user-listing position: a user name (names are unique among live users). */
const userPosition = (p: string): string | undefined => (p === "" ? undefined : p);

/**
 * ListUsers: with `organization_id`, that organization's members; without, the members of every
 * organization the caller reaches (every user, members or not, for an operator).
 */
export async function listUsers(deps: ServiceDeps, caller: Caller, req: ListUsersRequest): Promise<ListUsersResponse> {
  const limit = pageSize(req.pageSize);
  const orgId = req.organizationId === "" ? undefined : await targetOrg(deps.db, caller, req.organizationId);
  requireRole(caller, "VIEWER", "listing users");
  // The unfiltered listing depends on who asks: bound to the caller's organization, too.
  const binding = bindPage({ organization: orgId ?? "", from: orgId === undefined ? caller.orgId : "" });
  const after = req.pageToken === "" ? "" : decodePageToken(req.pageToken, "u", userPosition, binding);
  const users =
    orgId === undefined
      ? await listVisibleUsers(deps.db.pool, caller.orgId, caller.operator, after, limit + 1)
      : (await deps.db.withOrg(orgId, (tx) => listMembers(tx, after, limit + 1))).map((m) => m.user);
  const page = users.slice(0, limit);
  const last = page[page.length - 1];
  return create(ListUsersResponseSchema, {
    users: page.map(userToPb),
    nextPageToken: users.length > limit && last ? encodePageToken("u", last.name, binding) : "",
  });
}

/** GetUser: a user the caller may see, with the memberships of it in organizations the caller reaches. */
export async function getUserById(deps: ServiceDeps, caller: Caller, req: GetUserRequest): Promise<GetUserResponse> {
  const id = requireUuid("id", req.id);
  requireRole(caller, "VIEWER", "reading users");
  const memberships = await visibleMemberships(deps.db.pool, caller.orgId, caller.operator, id);
  // Seen through a membership, or by an operator, who sees every live user.
  const user = memberships.length > 0 || caller.operator ? await getUser(deps.db.pool, id) : undefined;
  if (user === undefined) throw notFound("user");
  return create(GetUserResponseSchema, { user: userToPb(user), memberships: memberships.map(membershipToPb) });
}

/** ListMemberships: an organization's members and their roles, by user name (any member). */
export async function listMemberships(deps: ServiceDeps, caller: Caller, req: ListMembershipsRequest): Promise<ListMembershipsResponse> {
  const limit = pageSize(req.pageSize);
  const orgId = await targetOrg(deps.db, caller, req.organizationId);
  requireRole(caller, "VIEWER", "listing members");
  const binding = bindPage({ organization: orgId });
  const after = req.pageToken === "" ? "" : decodePageToken(req.pageToken, "m", userPosition, binding);
  const members = await deps.db.withOrg(orgId, (tx) => listMembers(tx, after, limit + 1));
  const page = members.slice(0, limit);
  const last = page[page.length - 1];
  return create(ListMembershipsResponseSchema, {
    members: page.map((m) => create(MemberSchema, { membership: membershipToPb(m.membership), user: userToPb(m.user) })),
    nextPageToken: members.length > limit && last ? encodePageToken("m", last.user.name, binding) : "",
  });
}

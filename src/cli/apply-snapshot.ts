/**
 * The instance's current state for `tessera apply`, read through the admin API: GetCaller (whose
 * token and user apply runs as, which prune never removes), ListOrganizations and ListUsers, and
 * ListBuckets, ListTokens and ListMemberships for each organization the manifest names that
 * exists. What the caller cannot see is absent, as it is from every answer the API gives it.
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Organization, Token, TokenPermissions } from "../gen/tessera/v1/resources_pb.js";
import type { Permissions } from "../domain/model.js";
import type { DesiredState } from "../domain/manifest/desired.js";
import type { Snapshot, SnapshotToken } from "../domain/manifest/snapshot.js";
import { kindFromPb, roleFromPb, signalFromPb } from "../services/convert.js";
import type { AdminClient } from "./api.js";
import { CliError } from "./command.js";

/** Every page of a list call. */
async function all<T>(page: (pageToken: string) => Promise<{ items: T[]; next: string }>): Promise<T[]> {
  const out: T[] = [];
  let pageToken = "";
  do {
    const p = await page(pageToken);
    out.push(...p.items);
    pageToken = p.next;
  } while (pageToken !== "");
  return out;
}

export async function readSnapshot(api: AdminClient, desired: DesiredState): Promise<Snapshot> {
  const { caller } = await api.getCaller({});
  const organizations: Organization[] = await all(async (pageToken) => {
    const r = await api.listOrganizations({ pageSize: 1000, pageToken });
    return { items: r.organizations, next: r.nextPageToken };
  });
  const users = await all(async (pageToken) => {
    const r = await api.listUsers({ pageSize: 1000, pageToken });
    return { items: r.users, next: r.nextPageToken };
  });
  const snapshot: Snapshot = {
    organizations: organizations.map((o) => ({
      id: o.id,
      identifier: o.identifier,
      name: o.name,
      parentId: o.parentId === "" ? null : o.parentId,
      parentAccess: o.parentAccess,
    })),
    buckets: [],
    tokens: [],
    users: users.map((u) => ({ id: u.id, name: u.name, root: u.root })),
    memberships: [],
    callerTokenIds: caller === undefined ? [] : [caller.tokenId],
    callerUserId: caller?.owner?.id || undefined,
  };
  const named = new Set(desired.organizations.map((o) => o.identifier));
  for (const org of organizations.filter((o) => named.has(o.identifier))) {
    const { buckets } = await api.listBuckets({ organizationId: org.id });
    snapshot.buckets.push(...buckets.map((b) => ({ id: b.id, organizationId: org.id, name: b.name, description: b.description })));
    const tokens = await all(async (pageToken) => {
      const r = await api.listTokens({ organizationId: org.id, pageSize: 1000, pageToken });
      return { items: r.tokens, next: r.nextPageToken };
    });
    snapshot.tokens.push(...tokens.map(tokenFromPb));
    const members = await all(async (pageToken) => {
      const r = await api.listMemberships({ organizationId: org.id, pageSize: 1000, pageToken });
      return { items: r.members, next: r.nextPageToken };
    });
    for (const m of members) {
      const role = m.membership === undefined ? undefined : roleFromPb(m.membership.role);
      if (m.membership === undefined || role === undefined) continue;
      snapshot.memberships.push({ organizationId: org.id, userId: m.membership.userId, role });
      // A member is a user the caller can see, whether or not ListUsers listed it.
      if (m.user !== undefined && !snapshot.users.some((u) => u.id === m.user!.id)) {
        snapshot.users.push({ id: m.user.id, name: m.user.name, root: m.user.root });
      }
    }
  }
  return snapshot;
}

function tokenFromPb(t: Token): SnapshotToken {
  const kind = kindFromPb(t.kind);
  if (kind === undefined) throw new CliError(`the server listed token ${t.id} with a kind this CLI does not know; upgrade the CLI`);
  return {
    id: t.id,
    organizationId: t.organizationId,
    name: t.name,
    description: t.description,
    kind,
    ownerUserId: t.ownerUserId === "" ? null : t.ownerUserId,
    permissions: permissionsFromPb(t.permissions),
    expireTime: t.expireTime === undefined ? null : timestampDate(t.expireTime),
  };
}

function permissionsFromPb(p: TokenPermissions | undefined): Permissions {
  if (p === undefined) return {};
  const out: Permissions = {};
  const signals = p.signals.map(signalFromPb).filter((s) => s !== undefined);
  if (signals.length > 0) out.signals = signals;
  if (p.buckets.length > 0) out.buckets = [...p.buckets];
  if (p.bucketAccess.length > 0) out.bucketAccess = p.bucketAccess.map((g) => ({ bucket: g.bucket, read: g.read, write: g.write }));
  if (p.dashboards.length > 0) out.dashboards = [...p.dashboards];
  if (Object.keys(p.filters).length > 0) out.filters = { ...p.filters };
  return out;
}

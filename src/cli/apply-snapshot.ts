/**
 * The instance's current state for `tessera apply`, read through the admin API's list calls:
 * ListOrganizations, then ListBuckets and ListTokens for each organization the manifest names that
 * exists. This server has no ListUsers or ListMemberships yet, so users and memberships are
 * left unknown (the plan says so), and no GetCaller, so the caller's own token is found by its
 * mask: every token whose mask could be the caller's counts as the caller's, and prune keeps them all.
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Organization, Token, TokenPermissions } from "../gen/tessera/v1/resources_pb.js";
import type { Permissions } from "../domain/model.js";
import type { DesiredState } from "../domain/manifest/desired.js";
import type { Snapshot, SnapshotToken } from "../domain/manifest/snapshot.js";
import { kindFromPb, signalFromPb } from "../services/convert.js";
import type { AdminClient } from "./api.js";
import { CliError } from "./command.js";

export async function readSnapshot(api: AdminClient, desired: DesiredState, callerToken: string): Promise<Snapshot> {
  const organizations: Organization[] = [];
  let pageToken = "";
  do {
    const page = await api.listOrganizations({ pageSize: 1000, pageToken });
    organizations.push(...page.organizations);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");

  const named = new Set(desired.organizations.map((o) => o.identifier));
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
    users: undefined,
    memberships: undefined,
    callerTokenIds: [],
    callerUserId: undefined,
  };
  const listed: Token[] = [];
  for (const org of organizations.filter((o) => named.has(o.identifier))) {
    const { buckets } = await api.listBuckets({ organizationId: org.id });
    snapshot.buckets.push(...buckets.map((b) => ({ id: b.id, organizationId: org.id, name: b.name, description: b.description })));
    let tokenPage = "";
    do {
      const page = await api.listTokens({ organizationId: org.id, pageSize: 1000, pageToken: tokenPage });
      listed.push(...page.tokens);
      tokenPage = page.nextPageToken;
    } while (tokenPage !== "");
  }
  snapshot.tokens = listed.map(tokenFromPb);

  // The server stores no value, only a mask that ends in the value's last four characters: that
  // ending is what can tell the caller's token apart, so every token sharing it counts as the
  // caller's. (Matching the ending, not the whole mask, holds for any mask form a value may get.)
  const ending = `…${callerToken.slice(-4)}`;
  const mine = listed.filter((t) => t.maskedValue.endsWith(ending));
  snapshot.callerTokenIds = mine.map((t) => t.id);
  const owners = new Set(mine.map((t) => t.ownerUserId));
  const [owner] = owners;
  snapshot.callerUserId = owners.size === 1 && owner !== undefined && owner !== "" ? owner : undefined;
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

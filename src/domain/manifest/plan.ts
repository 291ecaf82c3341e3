/**
 * The plan: what must change for the instance (a Snapshot) to match a manifest (a DesiredState),
 * as an ordered list of operations — or the problems that make it impossible. Pure, so the same
 * function can run in the CLI for `--dry-run` and, later, inside the server's transaction that
 * applies a manifest atomically.
 *
 * Decisions:
 * - A manifest describes the organizations it names, completely; organizations it does not name
 *   are left alone, and so are users it does not name. A field left out means what creation
 *   gives it (no description, no expiry, parent access on), so taking a line out changes it back.
 * - A token's kind, owner and permissions never change after creation. A manifest that gives an
 *   existing token other ones is a conflict, not a silent delete-and-recreate: recreating gives the
 *   token a new value, and every agent that holds the old one would stop at once. Rename the
 *   token (a new one is made beside it) or delete it first.
 * - A value source is used only when a token is created; an existing token's value is never
 *   compared or changed (values are not stored, only digests). `expires_in` likewise sets only a new
 *   token's expiry; `expire_time` is compared and changed.
 * - An organization's parent never changes, and neither does whether a user is root: both are
 *   conflicts.
 * - Prune (`--prune`) deletes, in the organizations the manifest names, the tokens, buckets and
 *   memberships it does not name — never a `default` token, never an OPERATOR token (a manifest
 *   cannot declare one), never the caller's own token, and never the caller's own membership.
 *   It never deletes an organization or a user.
 * - Order: organizations (parents first), users, buckets, memberships, new tokens, token
 *   changes, then deletions: tokens before memberships and buckets, so nothing is deleted while a
 *   token still names it.
 */
import type { Permissions, RoleName } from "../model.js";
import { DEFAULT_TOKEN } from "../token-rules.js";
import type { TokenKind } from "../token-format.js";
import type { DesiredOrganization, DesiredState, DesiredToken, Pos, Problem } from "./desired.js";
import { describePermissions, samePermissions } from "./describe.js";
import { kindText } from "./read-token.js";
import type { Snapshot, SnapshotOrganization, SnapshotToken } from "./snapshot.js";
import { join } from "./yaml-tree.js";

interface Change<T> {
  from: T;
  to: T;
}

export type Operation =
  | {
      op: "create-organization";
      path: string;
      identifier: string;
      name: string;
      /** Identifier of the parent; null for a top-level organization. */
      parent: string | null;
      parentAccess: boolean;
      /** The manifest declares the `default` token with `generate: true`: keep the value its creation returns. */
      saveDefaultValue: boolean;
    }
  | { op: "update-organization"; path: string; id: string; identifier: string; name?: Change<string>; parentAccess?: Change<boolean> }
  | { op: "create-user"; path: string; name: string; root: boolean }
  | { op: "create-bucket"; path: string; organization: string; name: string; description: string }
  | { op: "update-bucket"; path: string; organization: string; id: string; name: string; description: Change<string> }
  | { op: "set-membership"; path: string; organization: string; user: string; role: RoleName; from: RoleName | null }
  | { op: "create-token"; path: string; organization: string; token: DesiredToken }
  | {
      op: "update-token";
      path: string;
      organization: string;
      /** Undefined for the `default` token of an organization the plan creates. */
      id: string | undefined;
      name: string;
      description?: Change<string>;
      expireTime?: Change<Date | null>;
    }
  | { op: "delete-token"; organization: string; id: string; name: string; kind: TokenKind }
  | { op: "remove-membership"; organization: string; userId: string; user: string | undefined; role: RoleName }
  | { op: "delete-bucket"; organization: string; id: string; name: string };

export interface Plan {
  operations: Operation[];
  /** What the plan could not check or chose to keep, for the person reading it. */
  notes: string[];
}

export type PlanResult = { ok: true; plan: Plan } | { ok: false; problems: Problem[] };

export interface PlanOptions {
  /** Delete what the manifest's organizations hold and the manifest does not name. */
  prune: boolean;
}

export function planManifest(desired: DesiredState, snapshot: Snapshot, options: PlanOptions): PlanResult {
  const problems: Problem[] = [];
  const notes: string[] = [];
  const problem = (path: string, message: string) => {
    const at: Pos = desired.positions.get(path) ?? { line: 1, col: 1 };
    problems.push({ path, line: at.line, col: at.col, message });
  };
  const byIdentifier = new Map(snapshot.organizations.map((o) => [o.identifier, o]));
  const byId = new Map(snapshot.organizations.map((o) => [o.id, o]));
  const declared = new Set(desired.organizations.map((o) => o.identifier));
  const userByName = new Map(snapshot.users.map((u) => [u.name, u]));
  const userById = new Map(snapshot.users.map((u) => [u.id, u]));
  const protectedTokens = new Set(snapshot.callerTokenIds);

  const groups = {
    createOrgs: [] as Operation[],
    updateOrgs: [] as Operation[],
    createUsers: [] as Operation[],
    createBuckets: [] as Operation[],
    updateBuckets: [] as Operation[],
    setMembers: [] as Operation[],
    createTokens: [] as Operation[],
    updateTokens: [] as Operation[],
    deleteTokens: [] as Operation[],
    removeMembers: [] as Operation[],
    deleteBuckets: [] as Operation[],
  };

  for (const u of desired.users) {
    const existing = userByName.get(u.name);
    if (existing === undefined) groups.createUsers.push({ op: "create-user", path: u.path, name: u.name, root: u.root });
    else if (existing.root !== u.root) {
      problem(
        u.path,
        `user "${u.name}" is ${existing.root ? "" : "not "}root on the server; apply never changes whether a user is root: set root: ${existing.root}`,
      );
    }
  }

  for (const org of desired.organizations) {
    const existing = byIdentifier.get(org.identifier);
    const parentPath = desired.positions.has(join(org.path, "parent")) ? join(org.path, "parent") : org.path;
    if (org.parent !== null && !declared.has(org.parent) && !byIdentifier.has(org.parent)) {
      problem(
        parentPath,
        `parent organization "${org.parent}" is neither in the manifest nor on the server (or this token does not reach it)`,
      );
    }
    if (existing === undefined) {
      const def = org.tokens.find((t) => t.name === DEFAULT_TOKEN.name);
      groups.createOrgs.push({
        op: "create-organization",
        path: org.path,
        identifier: org.identifier,
        name: org.name,
        parent: org.parent,
        parentAccess: org.parentAccess,
        saveDefaultValue: def?.value.from === "organization" && def.value.save,
      });
    } else {
      const serverParent =
        existing.parentId === null ? null : (byId.get(existing.parentId)?.identifier ?? "an organization this token does not reach");
      if (serverParent !== org.parent) {
        problem(
          parentPath,
          `organization "${org.identifier}" is ${serverParent === null ? "top-level" : `a sub-organization of "${serverParent}"`} on the server; an organization's parent never changes`,
        );
      }
      const name = existing.name !== org.name ? { from: existing.name, to: org.name } : undefined;
      const access =
        org.parent !== null && existing.parentAccess !== org.parentAccess
          ? { from: existing.parentAccess, to: org.parentAccess }
          : undefined;
      if (name !== undefined || access !== undefined) {
        groups.updateOrgs.push({
          op: "update-organization",
          path: org.path,
          id: existing.id,
          identifier: org.identifier,
          ...(name && { name }),
          ...(access && { parentAccess: access }),
        });
      }
    }
    planOrganization(org, existing);
  }

  function planOrganization(org: DesiredOrganization, existing: SnapshotOrganization | undefined): void {
    const serverBuckets = existing === undefined ? [] : snapshot.buckets.filter((b) => b.organizationId === existing.id);
    const serverTokens = existing === undefined ? [] : snapshot.tokens.filter((t) => t.organizationId === existing.id);
    const serverMembers = existing === undefined ? [] : snapshot.memberships.filter((m) => m.organizationId === existing.id);
    const declaredBuckets = new Set(org.buckets.map((b) => b.name));

    for (const b of org.buckets) {
      const sb = serverBuckets.find((x) => x.name === b.name);
      if (sb === undefined) {
        groups.createBuckets.push({
          op: "create-bucket",
          path: b.path,
          organization: org.identifier,
          name: b.name,
          description: b.description,
        });
      } else if (sb.description !== b.description) {
        groups.updateBuckets.push({
          op: "update-bucket",
          path: b.path,
          organization: org.identifier,
          id: sb.id,
          name: b.name,
          description: { from: sb.description, to: b.description },
        });
      }
    }

    for (const t of org.tokens) {
      const refs: Array<[string, string]> = [
        ...(t.permissions.buckets ?? []).map((b, i): [string, string] => [b, join(join(join(t.path, "permissions"), "buckets"), i)]),
        ...(t.permissions.bucketAccess ?? []).map((g, i): [string, string] => [
          g.bucket,
          join(join(join(join(t.path, "permissions"), "bucket_access"), i), "bucket"),
        ]),
      ];
      for (const [bucket, path] of refs) {
        if (declaredBuckets.has(bucket)) continue;
        if (options.prune)
          problem(path, `bucket "${bucket}" is not in organization "${org.identifier}"'s buckets, and --prune would delete it`);
        else if (!serverBuckets.some((b) => b.name === bucket)) {
          problem(path, `bucket "${bucket}" is neither in organization "${org.identifier}"'s buckets nor on the server`);
        }
      }
    }

    for (const m of org.members) {
      const user = userByName.get(m.user);
      const sm = user === undefined ? undefined : serverMembers.find((x) => x.userId === user.id);
      if (sm === undefined || sm.role !== m.role) {
        groups.setMembers.push({
          op: "set-membership",
          path: m.path,
          organization: org.identifier,
          user: m.user,
          role: m.role,
          from: sm?.role ?? null,
        });
      }
    }

    for (const t of org.tokens) {
      const st = serverTokens.find((x) => x.name === t.name);
      if (st === undefined) {
        if (t.name !== DEFAULT_TOKEN.name) {
          groups.createTokens.push({ op: "create-token", path: t.path, organization: org.identifier, token: t });
        } else if (existing !== undefined) {
          problem(t.path, `organization "${org.identifier}" has no default token on the server; a manifest cannot make one`);
        } else if (t.description !== DEFAULT_TOKEN.description) {
          const description = { from: DEFAULT_TOKEN.description, to: t.description };
          groups.updateTokens.push({
            op: "update-token",
            path: t.path,
            organization: org.identifier,
            id: undefined,
            name: t.name,
            description,
          });
        }
        continue;
      }
      const conflict = tokenConflict(t, st);
      if (conflict !== undefined) {
        problem(
          t.path,
          `token "${t.name}" exists with ${conflict}; a token's kind, owner and permissions never change after creation: rename it (a new token is made) or delete it first`,
        );
        continue;
      }
      const description = st.description !== t.description ? { from: st.description, to: t.description } : undefined;
      const wanted = t.expiry.kind === "at" ? t.expiry.time : t.expiry.kind === "never" ? null : st.expireTime;
      const expireTime =
        (wanted?.getTime() ?? null) !== (st.expireTime?.getTime() ?? null) ? { from: st.expireTime, to: wanted } : undefined;
      if (description !== undefined || expireTime !== undefined) {
        groups.updateTokens.push({
          op: "update-token",
          path: t.path,
          organization: org.identifier,
          id: st.id,
          name: t.name,
          ...(description && { description }),
          ...(expireTime && { expireTime }),
        });
      }
    }

    if (!options.prune || existing === undefined) return;
    const named = new Set(org.tokens.map((t) => t.name));
    const kept: SnapshotToken[] = [];
    for (const st of serverTokens) {
      if (named.has(st.name)) continue;
      if (st.name === DEFAULT_TOKEN.name || st.kind === "OPERATOR") {
        kept.push(st);
        continue;
      }
      if (protectedTokens.has(st.id)) {
        kept.push(st);
        notes.push(`Kept token ${org.identifier}/${st.name}: it is the token this apply runs with.`);
        continue;
      }
      groups.deleteTokens.push({ op: "delete-token", organization: org.identifier, id: st.id, name: st.name, kind: st.kind });
    }
    const members = new Set(org.members.map((m) => m.user));
    for (const sm of serverMembers) {
      const name = userById.get(sm.userId)?.name;
      if (name !== undefined && members.has(name)) continue;
      if (sm.userId === snapshot.callerUserId) {
        notes.push(`Kept the membership of ${name ?? "the caller's user"} in ${org.identifier}: it is the user this apply runs as.`);
        continue;
      }
      groups.removeMembers.push({ op: "remove-membership", organization: org.identifier, userId: sm.userId, user: name, role: sm.role });
    }
    const stillNamed = new Set(kept.flatMap((t) => bucketsOf(t.permissions)));
    for (const sb of serverBuckets) {
      if (declaredBuckets.has(sb.name)) continue;
      if (stillNamed.has(sb.name)) {
        notes.push(`Kept bucket ${org.identifier}/${sb.name}: a token that prune keeps names it.`);
        continue;
      }
      groups.deleteBuckets.push({ op: "delete-bucket", organization: org.identifier, id: sb.id, name: sb.name });
    }
  }

  function tokenConflict(t: DesiredToken, st: SnapshotToken): string | undefined {
    if (st.kind !== t.kind) return `kind ${kindText(st.kind)} on the server (the manifest says ${kindText(t.kind)})`;
    if (!samePermissions(st.permissions, t.permissions)) {
      return `permissions "${describePermissions(st.kind, st.permissions)}" on the server (the manifest says "${describePermissions(t.kind, t.permissions)}")`;
    }
    if (t.owner !== null) {
      const owner = userByName.get(t.owner);
      if (owner?.id !== st.ownerUserId) {
        const serverOwner = st.ownerUserId === null ? undefined : userById.get(st.ownerUserId)?.name;
        return `another owner on the server (${serverOwner === undefined ? "a user this token cannot see" : `"${serverOwner}"`}; the manifest says "${t.owner}")`;
      }
    }
    return undefined;
  }

  if (problems.length > 0) return { ok: false, problems: problems.sort((a, b) => a.line - b.line || a.col - b.col) };
  const operations = Object.values(groups).flat();
  return { ok: true, plan: { operations, notes } };
}

function bucketsOf(p: Permissions): string[] {
  return [...(p.buckets ?? []), ...(p.bucketAccess ?? []).map((g) => g.bucket)];
}

/**
 * ApplyManifest: `tessera apply` on the server, atomically. In ONE transaction (serialized with
 * every other apply by an advisory lock) it reads the instance's state as the caller sees it,
 * plans with the same pure planner the CLI's file checks feed (domain/manifest/plan.ts), and runs
 * each operation through the store functions and rules the individual RPCs use. Any error rolls
 * everything back and answers that error's code, with the failing operation's manifest path in
 * front of its message. A dry run does the very same work and rolls it back, so it finds what an
 * apply would find. Only after COMMIT are events applied locally and imported values added to the
 * filter: a rolled-back apply must not evict or admit anything.
 *
 * Each statement runs under exactly one organization's context (db.transaction/asOrg): the
 * organization it acts on. Cross-organization reads use the SECURITY DEFINER listings.
 */
import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import {
  ApplyManifestResponseSchema,
  ManifestOperationKind,
  type ApplyManifestRequest,
  type ApplyManifestResponse,
} from "../../gen/tessera/v1/token_admin_service_pb.js";
import { failedPrecondition, invalidArgument, isTesseraError, notFound, permissionDenied } from "../../domain/errors.js";
import type { Membership, Organization, TokenRecord, User } from "../../domain/model.js";
import type { DesiredState } from "../../domain/manifest/desired.js";
import { planManifest, type Operation } from "../../domain/manifest/plan.js";
import { describeOperation } from "../../domain/manifest/plan-text.js";
import type { Snapshot } from "../../domain/manifest/snapshot.js";
import { DEFAULT_TOKEN } from "../../domain/token-rules.js";
import { boundedExpiry } from "../../domain/token-policy.js";
import { acceptBroughtValue } from "../../domain/token-value.js";
import type { OrgTransaction, Tx } from "../../store/database.js";
import { lockApply } from "../../store/queries/apply-lock.js";
import { deleteBucket, insertBucket, listBuckets, updateBucketDescription } from "../../store/queries/buckets.js";
import { getCurrentOrganization, insertOrganization, listOrganizations } from "../../store/queries/organizations.js";
import type { TokenEvent } from "../../store/queries/revocations.js";
import * as tokens from "../../store/queries/tokens.js";
import { getMembership, insertUser, listMembers, listVisibleUsers, upsertMembership } from "../../store/queries/users.js";
import { requireRole } from "../access.js";
import type { Caller } from "../caller.js";
import type { ServiceDeps } from "../deps.js";
import { issueToken, type IssuedToken } from "../token-issue.js";
import { desiredFromRequest, withPath } from "./apply-request.js";
import { defaultTokenSpec, patchOrganization } from "./organizations.js";
import { checkIngestionBuckets, resolveOwner } from "./token-spec.js";
import { patchToken, refuseValueUnderOlderKeys } from "./tokens.js";
import { removeMember } from "./users.js";
import type { AuditScope } from "../audit/scope.js";
import {
  bucketFields,
  bucketTarget,
  membershipFields,
  membershipTarget,
  organizationFields,
  organizationTarget,
  tokenFields,
  tokenTarget,
  userFields,
  userTarget,
} from "../../domain/audit/audit-fields.js";

/** Rows per page when reading the state (the listings' own page size limit does not apply here). */
const PAGE = 1000;

const SIGN_KIND = { "+": ManifestOperationKind.CREATE, "~": ManifestOperationKind.UPDATE, "-": ManifestOperationKind.DELETE } as const;

export async function applyManifest(
  deps: ServiceDeps,
  caller: Caller,
  req: ApplyManifestRequest,
  audit: AuditScope,
): Promise<ApplyManifestResponse> {
  const desired = desiredFromRequest(req, deps.now());
  requireRole(caller, "ADMIN", "applying a manifest");
  const out = await deps.db.transaction(async (t) => {
    await t.asOrg(caller.orgId, (tx) => lockApply(tx));
    const snapshot = await readState(t, caller, desired);
    const planned = planManifest(desired, snapshot, { prune: req.prune });
    if (!planned.ok || planned.plan.operations.length === 0) return { planned, done: undefined };
    const run = new Execution(deps, caller, audit, t, snapshot, planned.plan.operations, req.dryRun, defaultValues(req));
    for (const op of planned.plan.operations) {
      try {
        await run.execute(op);
      } catch (err) {
        throw withPath(opPath(op), err);
      }
    }
    // Each change is on the record of its organization; the run itself on the caller's.
    await t.asOrg(caller.orgId, (tx) =>
      audit.record(tx, {
        action: "manifest.apply",
        target: { type: "manifest", id: audit.info.requestId },
        after: { operations: planned.plan.operations.length, prune: req.prune },
      }),
    );
    return { planned, done: run };
  }, req.dryRun);
  const { planned, done } = out;
  if (!planned.ok) {
    return create(ApplyManifestResponseSchema, { problems: planned.problems.map((p) => ({ path: p.path, message: p.message })) });
  }
  const applied = !req.dryRun && done !== undefined;
  if (applied) {
    for (const i of done.issued) deps.importedFilter.add(i.token.id, i.token.valueOrigin === "IMPORTED" ? i.digest : undefined);
    if (done.events.length > 0) deps.hub.applyLocal(done.events);
    deps.log("manifest_applied", { operations: planned.plan.operations.length, by: caller.tokenId });
  }
  return create(ApplyManifestResponseSchema, {
    operations: planned.plan.operations.map((op) => {
      const d = describeOperation(op);
      return { kind: SIGN_KIND[d.sign], what: d.head, path: d.where, details: d.details };
    }),
    notes: planned.plan.notes,
    applied,
  });
}

function defaultValues(req: ApplyManifestRequest): Map<string, string> {
  const out = new Map<string, string>();
  for (const o of req.organizations) {
    const def = o.tokens.find((t) => t.name === DEFAULT_TOKEN.name && t.value !== "");
    if (def !== undefined) out.set(o.path, def.value);
  }
  return out;
}

/** What an error names: the operation's manifest path, or what a deletion deletes. */
function opPath(op: Operation): string {
  if ("path" in op) return op.path;
  return `prune: ${describeOperation(op).head}`;
}

/** Every page of a listing. */
async function all<T>(page: (after: T | undefined) => Promise<T[]>): Promise<T[]> {
  const out: T[] = [];
  for (;;) {
    const rows = await page(out[out.length - 1]);
    out.push(...rows);
    if (rows.length < PAGE) return out;
  }
}

/** The instance as the caller sees it, read inside the apply's transaction. */
async function readState(t: OrgTransaction, caller: Caller, desired: DesiredState): Promise<Snapshot> {
  const { organizations, users } = await t.asOrg(caller.orgId, async (tx) => ({
    organizations: await all<Organization>((after) => listOrganizations(tx, caller.orgId, caller.operator, after?.identifier ?? "", PAGE)),
    users: await all<User>((after) => listVisibleUsers(tx, caller.orgId, caller.operator, after?.name ?? "", PAGE)),
  }));
  const snapshot: Snapshot = {
    organizations: organizations.map((o) => ({
      id: o.id,
      identifier: o.identifier,
      name: o.name,
      parentId: o.parentId,
      parentAccess: o.parentAccess,
    })),
    buckets: [],
    tokens: [],
    users: users.map((u) => ({ id: u.id, name: u.name, root: u.root })),
    memberships: [],
    callerTokenIds: [caller.tokenId],
    callerUserId: caller.userId,
  };
  const named = new Set(desired.organizations.map((o) => o.identifier));
  for (const org of organizations.filter((o) => named.has(o.identifier))) {
    await t.asOrg(org.id, async (tx) => {
      for (const b of await listBuckets(tx))
        snapshot.buckets.push({ id: b.id, organizationId: org.id, name: b.name, description: b.description });
      const rows = await all<TokenRecord>((after) =>
        tokens.listTokens(tx, { limit: PAGE, ...(after && { afterKey: [after.isDefault ? 0 : 1, after.seq] as [number, string] }) }),
      );
      for (const r of rows) {
        snapshot.tokens.push({
          id: r.id,
          organizationId: org.id,
          name: r.name,
          description: r.description,
          kind: r.kind,
          ownerUserId: r.ownerUserId,
          permissions: r.permissions,
          expireTime: r.expiresAt,
        });
      }
      const members = await all<{ membership: Membership; user: User }>((after) => listMembers(tx, after?.user.name ?? "", PAGE));
      for (const m of members) {
        snapshot.memberships.push({ organizationId: org.id, userId: m.user.id, role: m.membership.role });
        if (!snapshot.users.some((u) => u.id === m.user.id)) snapshot.users.push({ id: m.user.id, name: m.user.name, root: m.user.root });
      }
    });
  }
  return snapshot;
}

/** Runs a plan's operations in order inside the transaction, keeping what the commit must announce. */
class Execution {
  readonly events: TokenEvent[] = [];
  readonly issued: IssuedToken[] = [];
  readonly #orgIds = new Map<string, string>();
  readonly #userIds = new Map<string, string>();
  /** Users this apply creates: their first membership needs no operator. */
  readonly #newUsers = new Set<string>();
  readonly #defaultTokens = new Map<string, string>();
  readonly #members = new Set<string>();

  constructor(
    private readonly deps: ServiceDeps,
    private readonly caller: Caller,
    private readonly audit: AuditScope,
    private readonly t: OrgTransaction,
    snapshot: Snapshot,
    operations: Operation[],
    private readonly dryRun: boolean,
    /** The value of each new organization's kept `default` token, by the organization's manifest path. */
    private readonly defaultValues: ReadonlyMap<string, string>,
  ) {
    for (const o of snapshot.organizations) this.#orgIds.set(o.identifier, o.id);
    for (const u of snapshot.users) this.#userIds.set(u.name, u.id);
    for (const op of operations) if (op.op === "set-membership") this.#members.add(op.user);
  }

  #org(identifier: string): string {
    const id = this.#orgIds.get(identifier);
    if (id === undefined) throw notFound("organization");
    return id;
  }

  #user(name: string): string {
    const id = this.#userIds.get(name);
    if (id === undefined) throw notFound("user");
    return id;
  }

  async execute(op: Operation): Promise<void> {
    const { deps, caller, audit } = this;
    switch (op.op) {
      case "create-organization": {
        // Only an operator makes top-level organizations; to anyone else one it does not reach is
        // simply not found, whether or not it exists.
        if (op.parent === null && !caller.operator) throw notFound("organization");
        const parentId = op.parent === null ? null : this.#org(op.parent);
        const id = randomUUID();
        const policies = { maxTokenLifetimeS: null, tokenIdleLimitS: null };
        await this.t.asOrg(id, async (tx) => {
          try {
            await insertOrganization(tx, {
              id,
              identifier: op.identifier,
              name: op.name,
              parentId,
              parentAccess: op.parentAccess,
              ...policies,
            });
          } catch (err) {
            // An organization the caller does not reach has an identifier like any other: not found.
            if (!caller.operator && isTesseraError(err) && err.code === "ALREADY_EXISTS") throw notFound("organization");
            throw err;
          }
          const spec = defaultTokenSpec(deps, caller, policies);
          const value = this.#defaultValue(op);
          const org = await getCurrentOrganization(tx);
          if (org !== undefined)
            await audit.record(tx, { action: "organization.create", target: organizationTarget(org), after: organizationFields(org) });
          const issued = await this.#issue(tx, id, { ...spec, ...value });
          this.#defaultTokens.set(op.identifier, issued.token.id);
        });
        this.#orgIds.set(op.identifier, id);
        return;
      }
      case "update-organization": {
        const r = await this.t.asOrg(op.id, (tx) =>
          patchOrganization(
            tx,
            caller,
            op.id,
            {
              ...(op.name && { name: op.name.to }),
              ...(op.parentAccess && { parentAccess: op.parentAccess.to }),
            },
            audit,
          ),
        );
        this.events.push(...r.events);
        return;
      }
      case "create-user": {
        if (op.root && !caller.operator) throw permissionDenied("only an operator may create a root user");
        // As CreateUser: anyone but an operator adds the user it creates to an organization.
        if (!caller.operator && !this.#members.has(op.name)) {
          throw permissionDenied("only an operator may create a user with no membership: make it a member of an organization");
        }
        const id = randomUUID();
        await this.t.asOrg(caller.orgId, async (tx) => {
          const user = await insertUser(tx, { id, name: op.name, root: op.root });
          await audit.record(tx, { action: "user.create", target: userTarget(user), after: userFields(user) });
        });
        this.#userIds.set(op.name, id);
        this.#newUsers.add(id);
        return;
      }
      case "create-bucket":
        await this.t.asOrg(this.#org(op.organization), async (tx) => {
          const b = await insertBucket(tx, { id: randomUUID(), name: op.name, description: op.description });
          await audit.record(tx, { action: "bucket.create", target: bucketTarget(b), after: bucketFields(b) });
        });
        return;
      case "update-bucket": {
        await this.t.asOrg(this.#org(op.organization), async (tx) => {
          const b = await updateBucketDescription(tx, op.id, op.description.to);
          if (b === undefined) throw notFound("bucket");
          await audit.record(tx, {
            action: "bucket.update",
            target: bucketTarget(b),
            before: { description: op.description.from },
            after: { description: b.description },
          });
        });
        return;
      }
      case "set-membership": {
        const userId = this.#user(op.user);
        const r = await this.t.asOrg(this.#org(op.organization), async (tx) => {
          // As SetMembership: only operators bring in a user from outside (or a user this apply creates).
          if ((await getMembership(tx, userId)) === undefined && !caller.operator && !this.#newUsers.has(userId)) throw notFound("user");
          const r = await upsertMembership(tx, userId, op.role);
          await audit.record(tx, {
            action: "membership.set",
            target: membershipTarget(userId, op.user),
            before: r.previous === undefined ? null : membershipFields(r.previous),
            after: membershipFields(r.membership),
          });
          return r;
        });
        this.events.push(...r.events);
        return;
      }
      case "create-token": {
        const tk = op.token;
        const v = tk.value;
        let value = v.from === "supplied" ? v.value?.reveal() : undefined;
        if (value === undefined && !this.dryRun)
          throw invalidArgument("a new token needs a value: ApplyManifest is given every new token's value");
        const orgId = this.#org(op.organization);
        await this.t.asOrg(orgId, async (tx) => {
          const brought = value === undefined ? undefined : acceptBroughtValue(tk.kind, value);
          const org = await getCurrentOrganization(tx);
          if (org === undefined) throw notFound("organization");
          const now = deps.now();
          const wanted = tk.expiry.kind === "at" ? tk.expiry.time : tk.expiry.kind === "in" ? new Date(now + tk.expiry.ms) : null;
          const expiresAt = boundedExpiry(org, wanted, now, false);
          const ownerId = tk.owner === null ? "" : this.#user(tk.owner);
          const ownerUserId = await resolveOwner(deps.db, tx, caller, tk.kind, tk.permissions, ownerId);
          if (tk.kind === "INGESTION") await checkIngestionBuckets(tx, tk.permissions);
          await this.#issue(tx, orgId, {
            name: tk.name,
            description: tk.description,
            kind: tk.kind,
            permissions: tk.permissions,
            expiresAt,
            ownerUserId,
            createdBy: caller.userId ?? null,
            ...(value !== undefined && brought !== undefined && { value, valueOrigin: brought.origin }),
          });
        });
        value = undefined;
        return;
      }
      case "update-token": {
        const orgId = this.#org(op.organization);
        const id = op.id ?? this.#defaultTokens.get(op.organization);
        if (id === undefined) throw notFound("token");
        if (op.expireTime?.to && op.expireTime.to.getTime() <= deps.now()) throw invalidArgument("expire_time must be in the future");
        const r = await this.t.asOrg(orgId, (tx) =>
          patchToken(
            tx,
            id,
            {
              ...(op.description && { description: op.description.to }),
              ...(op.expireTime && { expiresAt: op.expireTime.to }),
            },
            audit,
          ),
        );
        if (r.expiryChanged) this.events.push({ orgId, tokenId: id, reason: "UPDATED" });
        return;
      }
      case "delete-token": {
        const orgId = this.#org(op.organization);
        await this.t.asOrg(orgId, async (tx) => {
          const current = await tokens.getToken(tx, op.id);
          if (current === undefined) throw notFound("token");
          if (current.isDefault) throw failedPrecondition("the default ingestion token cannot be deleted; disable or rotate it instead");
          await tokens.deleteToken(tx, current.id);
          await audit.record(tx, { action: "token.delete", target: tokenTarget(current), before: tokenFields(current) });
        });
        this.events.push({ orgId, tokenId: op.id, reason: "DELETED" });
        return;
      }
      case "remove-membership": {
        const ended = await this.t.asOrg(this.#org(op.organization), (tx) => removeMember(tx, op.userId, audit));
        this.events.push(...ended);
        return;
      }
      case "delete-bucket":
        await this.t.asOrg(this.#org(op.organization), async (tx) => {
          // As DeleteBucket without force: the row lock first, then no token may still name it.
          const b = await deleteBucket(tx, op.name);
          if (b === undefined) throw notFound("bucket");
          const naming = await tokens.tokensNamingBucket(tx, op.name);
          if (naming.length > 0) throw failedPrecondition(`${naming.length} token(s) still name bucket "${op.name}" in their permissions`);
          await audit.record(tx, { action: "bucket.delete", target: bucketTarget(b), before: bucketFields(b) });
        });
        return;
    }
  }

  /** The value the manifest gives an organization's `default` token, if it keeps one. */
  #defaultValue(op: Extract<Operation, { op: "create-organization" }>): { value?: string; valueOrigin?: "SUPPLIED" | "IMPORTED" } {
    if (!op.saveDefaultValue) return {};
    const value = this.defaultValues.get(op.path);
    if (value === undefined) {
      if (this.dryRun) return {};
      throw invalidArgument("the default token's value is kept (value_source), so ApplyManifest must be given it");
    }
    return { value, valueOrigin: acceptBroughtValue("INGESTION", value).origin };
  }

  /** Issues a token, refusing a brought value any token holds (ALREADY_EXISTS, never saying where). */
  async #issue(tx: Tx, orgId: string, spec: Parameters<typeof issueToken>[2]): Promise<IssuedToken> {
    if (spec.value !== undefined) await refuseValueUnderOlderKeys(tx, this.deps.keyring, spec.value);
    const issued = await issueToken(tx, this.deps.keyring, spec);
    await this.audit.record(tx, { action: "token.create", target: tokenTarget(issued.token), after: tokenFields(issued.token) });
    this.issued.push(issued);
    this.events.push({ orgId, tokenId: issued.token.id, reason: "ENABLED" });
    return issued;
  }
}

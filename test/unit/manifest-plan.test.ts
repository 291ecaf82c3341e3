import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { DesiredState } from "../../src/domain/manifest/desired.js";
import { planManifest, type Operation, type Plan } from "../../src/domain/manifest/plan.js";
import { readManifest } from "../../src/domain/manifest/read-manifest.js";
import type { Snapshot, SnapshotToken } from "../../src/domain/manifest/snapshot.js";
import { generateToken } from "../../src/domain/token-format.js";
import { renderPlan } from "../../src/cli/apply-plan-text.js";
import { describeOperation } from "../../src/domain/manifest/plan-text.js";
import { ManifestOperationKind } from "../../src/gen/tessera/v1/token_admin_service_pb.js";

const KIND = { "+": ManifestOperationKind.CREATE, "~": ManifestOperationKind.UPDATE, "-": ManifestOperationKind.DELETE } as const;

/** A plan as ApplyManifest returns it, for the CLI's renderer. */
function lines(p: Plan) {
  return {
    notes: p.notes,
    operations: p.operations.map((op) => {
      const d = describeOperation(op);
      return { kind: KIND[d.sign], what: d.head, path: d.where, details: d.details };
    }),
  };
}

const NOW = Date.parse("2026-06-01T00:00:00Z");
const EDGE = generateToken("INGESTION");

function desired(text: string): DesiredState {
  const r = readManifest(text, {
    now: NOW,
    valuesOut: "values.json",
    variable: (n) => (n === "EDGE" ? EDGE : undefined),
    readValueFile: () => ({ ok: false, problem: "no such file" }),
  });
  if (!r.ok) assert.fail(r.problems.map((p) => `${p.line}:${p.col} ${p.path}: ${p.message}`).join("\n"));
  return r.desired;
}

const yaml = (...lines: string[]) => `${lines.join("\n")}\n`;

const FLEET = yaml(
  "version: 1",
  "users:",
  "  - name: alice",
  "  - name: bob",
  "organizations:",
  "  - identifier: acme",
  "    name: Acme",
  "    buckets:",
  "      - { name: logs, description: App logs }",
  "      - { name: metrics }",
  "    members:",
  "      - { user: alice, role: admin }",
  "      - { user: bob, role: editor }",
  "    tokens:",
  "      - { name: default, description: Fleet ingestion, generate: true }",
  "      - name: edge",
  "        kind: ingestion",
  "        permissions: { signals: [logs], buckets: [logs, metrics] }",
  "        value_from_env: EDGE",
  "      - { name: admin-cli, kind: all-access, owner: alice, generate: true }",
  "      - name: grafana",
  "        kind: read-write",
  "        owner: bob",
  "        permissions: { bucket_access: [{ bucket: logs, read: true }] }",
  "        expire_time: 2027-01-01T00:00:00Z",
  "        generate: true",
  "      - name: status",
  "        kind: shared",
  "        permissions: { dashboards: [uptime] }",
  "        expires_in: 30d",
  "        generate: true",
  "    organizations:",
  "      - identifier: acme-eu",
  "        parent_access: false",
  "        buckets: [{ name: logs }]",
);

/** An instance with nothing of the manifest's: only what setup made. */
function emptyInstance(): Snapshot {
  const orgId = randomUUID();
  return {
    organizations: [{ id: orgId, identifier: "setup-org", name: "setup-org", parentId: null, parentAccess: true }],
    buckets: [],
    tokens: [],
    users: [{ id: randomUUID(), name: "root", root: true }],
    memberships: [],
    callerTokenIds: [],
    callerUserId: undefined,
  };
}

/**
 * What the instance looks like after the plan ran: each operation done the way the server does
 * it (an organization comes with its default token; expires_in counts from now). The idempotence
 * test plans again against this.
 */
function applied(before: Snapshot, plan: Plan): Snapshot {
  const s: Snapshot = structuredClone(before);
  const org = (identifier: string) => s.organizations.find((o) => o.identifier === identifier)!;
  const user = (name: string) => s.users.find((u) => u.name === name)!;
  const token = (orgId: string, name: string) => s.tokens.find((t) => t.organizationId === orgId && t.name === name)!;
  for (const op of plan.operations) {
    switch (op.op) {
      case "create-organization": {
        const id = randomUUID();
        const parentId = op.parent === null ? null : org(op.parent).id;
        s.organizations.push({ id, identifier: op.identifier, name: op.name, parentId, parentAccess: op.parentAccess });
        s.tokens.push(tokenRow(id, "default", "INGESTION", { description: "Default ingestion token" }));
        break;
      }
      case "update-organization":
        Object.assign(org(op.identifier), {
          ...(op.name && { name: op.name.to }),
          ...(op.parentAccess && { parentAccess: op.parentAccess.to }),
        });
        break;
      case "create-user":
        s.users.push({ id: randomUUID(), name: op.name, root: op.root });
        break;
      case "create-bucket":
        s.buckets.push({ id: randomUUID(), organizationId: org(op.organization).id, name: op.name, description: op.description });
        break;
      case "update-bucket":
        s.buckets.find((b) => b.id === op.id)!.description = op.description.to;
        break;
      case "set-membership": {
        const o = org(op.organization).id;
        const u = user(op.user).id;
        s.memberships = s.memberships.filter((m) => !(m.organizationId === o && m.userId === u));
        s.memberships.push({ organizationId: o, userId: u, role: op.role });
        break;
      }
      case "create-token": {
        const t = op.token;
        const expireTime = t.expiry.kind === "at" ? t.expiry.time : t.expiry.kind === "in" ? new Date(NOW + t.expiry.ms) : null;
        s.tokens.push(
          tokenRow(org(op.organization).id, t.name, t.kind, {
            description: t.description,
            permissions: t.permissions,
            ownerUserId: t.owner === null ? null : user(t.owner).id,
            expireTime,
          }),
        );
        break;
      }
      case "update-token": {
        const t = token(org(op.organization).id, op.name);
        if (op.description) t.description = op.description.to;
        if (op.expireTime) t.expireTime = op.expireTime.to;
        break;
      }
      case "delete-token":
        s.tokens = s.tokens.filter((t) => t.id !== op.id);
        break;
      case "remove-membership":
        s.memberships = s.memberships.filter((m) => !(m.organizationId === org(op.organization).id && m.userId === op.userId));
        break;
      case "delete-bucket":
        s.buckets = s.buckets.filter((b) => b.id !== op.id);
        break;
    }
  }
  return s;
}

function tokenRow(organizationId: string, name: string, kind: SnapshotToken["kind"], rest: Partial<SnapshotToken> = {}): SnapshotToken {
  return { id: randomUUID(), organizationId, name, kind, description: "", ownerUserId: null, permissions: {}, expireTime: null, ...rest };
}

function plan(d: DesiredState, s: Snapshot, prune = false): Plan {
  const r = planManifest(d, s, { prune });
  if (!r.ok) assert.fail(r.problems.map((p) => `${p.line}:${p.col} ${p.path}: ${p.message}`).join("\n"));
  return r.plan;
}

function problems(d: DesiredState, s: Snapshot, prune = false): string[] {
  const r = planManifest(d, s, { prune });
  assert.equal(r.ok, false, "the plan should have been refused");
  return r.ok ? [] : r.problems.map((p) => `${p.line}:${p.col} ${p.path}: ${p.message}`);
}

const summary = (ops: Operation[]) =>
  ops.map((op) => {
    const where = "path" in op ? op.path : "";
    const name = "identifier" in op ? op.identifier : "name" in op ? op.name : "token" in op ? op.token.name : "user" in op ? op.user : "";
    return `${op.op} ${name} ${where}`.trim();
  });

describe("planning a manifest", () => {
  it("creates everything on an empty instance, in an order the server can follow", () => {
    const p = plan(desired(FLEET), emptyInstance());
    assert.deepEqual(p.notes, []);
    assert.deepEqual(summary(p.operations), [
      "create-organization acme organizations[0]",
      "create-organization acme-eu organizations[0].organizations[0]",
      "create-user alice users[0]",
      "create-user bob users[1]",
      "create-bucket logs organizations[0].buckets[0]",
      "create-bucket metrics organizations[0].buckets[1]",
      "create-bucket logs organizations[0].organizations[0].buckets[0]",
      "set-membership alice organizations[0].members[0]",
      "set-membership bob organizations[0].members[1]",
      "create-token edge organizations[0].tokens[1]",
      "create-token admin-cli organizations[0].tokens[2]",
      "create-token grafana organizations[0].tokens[3]",
      "create-token status organizations[0].tokens[4]",
      "update-token default organizations[0].tokens[0]",
    ]);
    const acme = p.operations[0]!;
    assert.ok(acme.op === "create-organization" && acme.saveDefaultValue && acme.parent === null);
    const eu = p.operations[1]!;
    assert.ok(eu.op === "create-organization" && eu.parent === "acme" && !eu.parentAccess);
  });

  it("plans nothing the second time: the instance the first plan leaves matches the manifest", () => {
    const d = desired(FLEET);
    const after = applied(emptyInstance(), plan(d, emptyInstance()));
    const again = plan(d, after);
    assert.deepEqual(again.operations, []);
    assert.equal(renderPlan(lines(again), "tessera.yaml"), "Nothing to change: the instance matches tessera.yaml.");
    assert.deepEqual(plan(d, after, true).operations, [], "prune finds nothing to delete either");
  });

  it("changes names, parent access, descriptions, roles and expiry in place", () => {
    const d = desired(FLEET);
    const s = applied(emptyInstance(), plan(d, emptyInstance()));
    const acme = s.organizations.find((o) => o.identifier === "acme")!;
    acme.name = "Old name";
    s.organizations.find((o) => o.identifier === "acme-eu")!.parentAccess = true;
    s.buckets.find((b) => b.organizationId === acme.id && b.name === "logs")!.description = "old";
    const bob = s.users.find((u) => u.name === "bob")!;
    s.memberships.find((m) => m.userId === bob.id)!.role = "VIEWER";
    const grafana = s.tokens.find((t) => t.name === "grafana")!;
    grafana.description = "stale";
    grafana.expireTime = new Date("2026-12-01T00:00:00Z");
    // expires_in sets only a new token's expiry: an existing one's is left as it is.
    s.tokens.find((t) => t.name === "status")!.expireTime = new Date("2030-01-01T00:00:00Z");
    // A token the manifest gives no expiry loses the one it has.
    s.tokens.find((t) => t.name === "edge")!.expireTime = new Date("2026-07-01T00:00:00Z");

    const p = plan(d, s);
    assert.deepEqual(p.operations, [
      { op: "update-organization", path: "organizations[0]", id: acme.id, identifier: "acme", name: { from: "Old name", to: "Acme" } },
      {
        op: "update-organization",
        path: "organizations[0].organizations[0]",
        id: s.organizations.find((o) => o.identifier === "acme-eu")!.id,
        identifier: "acme-eu",
        parentAccess: { from: true, to: false },
      },
      {
        op: "update-bucket",
        path: "organizations[0].buckets[0]",
        organization: "acme",
        id: s.buckets.find((b) => b.organizationId === acme.id && b.name === "logs")!.id,
        name: "logs",
        description: { from: "old", to: "App logs" },
      },
      { op: "set-membership", path: "organizations[0].members[1]", organization: "acme", user: "bob", role: "EDITOR", from: "VIEWER" },
      {
        op: "update-token",
        path: "organizations[0].tokens[1]",
        organization: "acme",
        id: s.tokens.find((t) => t.name === "edge")!.id,
        name: "edge",
        expireTime: { from: new Date("2026-07-01T00:00:00Z"), to: null },
      },
      {
        op: "update-token",
        path: "organizations[0].tokens[3]",
        organization: "acme",
        id: grafana.id,
        name: "grafana",
        description: { from: "stale", to: "" },
        expireTime: { from: new Date("2026-12-01T00:00:00Z"), to: new Date("2027-01-01T00:00:00Z") },
      },
    ]);
  });

  it("prunes what the manifest's organizations hold and it does not name, but never a default, operator or caller token", () => {
    const d = desired(FLEET);
    const s = applied(emptyInstance(), plan(d, emptyInstance()));
    const acme = s.organizations.find((o) => o.identifier === "acme")!;
    const stray = tokenRow(acme.id, "stray", "VERIFIER");
    const mine = tokenRow(acme.id, "my-cli", "ALL_ACCESS", { ownerUserId: s.users.find((u) => u.name === "alice")!.id });
    const operator = tokenRow(acme.id, "operator", "OPERATOR");
    const old = tokenRow(acme.id, "old-rw", "READ_WRITE", {
      permissions: { bucketAccess: [{ bucket: "archive", read: true, write: false }] },
    });
    s.tokens.push(stray, mine, operator, old);
    s.buckets.push({ id: randomUUID(), organizationId: acme.id, name: "archive", description: "" });
    const carol = { id: randomUUID(), name: "carol", root: false };
    s.users.push(carol);
    s.memberships.push({ organizationId: acme.id, userId: carol.id, role: "VIEWER" });
    const root = s.users.find((u) => u.name === "root")!;
    s.memberships.push({ organizationId: acme.id, userId: root.id, role: "ADMIN" });
    // Another organization the manifest does not name is not pruned at all.
    s.tokens.push(tokenRow(s.organizations.find((o) => o.identifier === "setup-org")!.id, "untouched", "VERIFIER"));
    s.callerTokenIds = [mine.id];
    s.callerUserId = root.id;

    assert.deepEqual(plan(d, s).operations, [], "without --prune nothing is deleted");
    const p = plan(d, s, true);
    assert.deepEqual(p.operations, [
      { op: "delete-token", organization: "acme", id: stray.id, name: "stray", kind: "VERIFIER" },
      { op: "delete-token", organization: "acme", id: old.id, name: "old-rw", kind: "READ_WRITE" },
      { op: "remove-membership", organization: "acme", userId: carol.id, user: "carol", role: "VIEWER" },
      { op: "delete-bucket", organization: "acme", id: s.buckets.find((b) => b.name === "archive")!.id, name: "archive" },
    ]);
    assert.deepEqual(p.notes, [
      "Kept token acme/my-cli: it is the token this apply runs with.",
      "Kept the membership of root in acme: it is the user this apply runs as.",
    ]);
  });

  it("keeps a bucket that a token prune keeps still names", () => {
    const d = desired(yaml("version: 1", "organizations:", "  - identifier: acme"));
    const s = emptyInstance();
    const acme = { id: randomUUID(), identifier: "acme", name: "acme", parentId: null, parentAccess: true };
    s.organizations.push(acme);
    const mine = tokenRow(acme.id, "mine", "READ_WRITE", { permissions: { bucketAccess: [{ bucket: "main", read: true, write: true }] } });
    s.tokens.push(tokenRow(acme.id, "default", "INGESTION", { description: "Default ingestion token" }), mine);
    s.buckets.push({ id: randomUUID(), organizationId: acme.id, name: "main", description: "" });
    s.callerTokenIds = [mine.id];
    const p = plan(d, s, true);
    assert.deepEqual(p.operations, []);
    assert.deepEqual(p.notes, [
      "Kept token acme/mine: it is the token this apply runs with.",
      "Kept bucket acme/main: a token that prune keeps names it.",
    ]);
  });

  it("refuses to change a token's kind, permissions or owner, naming the token's path and line", () => {
    const d = desired(FLEET);
    const s = applied(emptyInstance(), plan(d, emptyInstance()));
    s.tokens.find((t) => t.name === "edge")!.permissions = { signals: ["LOGS", "TRACES"] };
    s.tokens.find((t) => t.name === "status")!.kind = "VERIFIER";
    s.tokens.find((t) => t.name === "grafana")!.ownerUserId = s.users.find((u) => u.name === "alice")!.id;
    assert.deepEqual(problems(d, s), [
      '16:9 organizations[0].tokens[1]: token "edge" exists with permissions "signals logs, traces" on the server (the manifest says "signals logs; buckets logs, metrics"); a token\'s kind, owner and permissions never change after creation: rename it (a new token is made) or delete it first',
      '21:9 organizations[0].tokens[3]: token "grafana" exists with another owner on the server ("alice"; the manifest says "bob"); a token\'s kind, owner and permissions never change after creation: rename it (a new token is made) or delete it first',
      '27:9 organizations[0].tokens[4]: token "status" exists with kind verifier on the server (the manifest says shared); a token\'s kind, owner and permissions never change after creation: rename it (a new token is made) or delete it first',
    ]);
  });

  it("refuses a move to another parent and a change of a user's root flag", () => {
    const d = desired(FLEET);
    const s = applied(emptyInstance(), plan(d, emptyInstance()));
    s.organizations.find((o) => o.identifier === "acme-eu")!.parentId = null;
    s.users.find((u) => u.name === "bob")!.root = true;
    assert.deepEqual(problems(d, s), [
      '4:5 users[1]: user "bob" is root on the server; apply never changes whether a user is root: set root: true',
      '33:9 organizations[0].organizations[0]: organization "acme-eu" is top-level on the server; an organization\'s parent never changes',
    ]);
  });

  it("refuses a token bucket that is neither declared nor on the server, and with --prune one that is only on the server", () => {
    const d = desired(
      yaml(
        "version: 1",
        "organizations:",
        "  - identifier: acme",
        "    parent: elsewhere",
        "    tokens:",
        "      - name: t",
        "        kind: ingestion",
        "        permissions: { buckets: [main, nowhere] }",
        "        generate: true",
      ),
    );
    const s = emptyInstance();
    assert.deepEqual(problems(d, s), [
      '4:13 organizations[0].parent: parent organization "elsewhere" is neither in the manifest nor on the server (or this token does not reach it)',
      '8:34 organizations[0].tokens[0].permissions.buckets[0]: bucket "main" is neither in organization "acme"\'s buckets nor on the server',
      '8:40 organizations[0].tokens[0].permissions.buckets[1]: bucket "nowhere" is neither in organization "acme"\'s buckets nor on the server',
    ]);

    const parent = { id: randomUUID(), identifier: "elsewhere", name: "elsewhere", parentId: null, parentAccess: true };
    const acme = { id: randomUUID(), identifier: "acme", name: "acme", parentId: parent.id, parentAccess: true };
    s.organizations.push(parent, acme);
    s.tokens.push(tokenRow(acme.id, "default", "INGESTION", { description: "Default ingestion token" }));
    s.buckets.push({ id: randomUUID(), organizationId: acme.id, name: "main", description: "" });
    assert.deepEqual(problems(d, s), [
      '8:40 organizations[0].tokens[0].permissions.buckets[1]: bucket "nowhere" is neither in organization "acme"\'s buckets nor on the server',
    ]);
    assert.deepEqual(problems(d, s, true), [
      '8:34 organizations[0].tokens[0].permissions.buckets[0]: bucket "main" is not in organization "acme"\'s buckets, and --prune would delete it',
      '8:40 organizations[0].tokens[0].permissions.buckets[1]: bucket "nowhere" is not in organization "acme"\'s buckets, and --prune would delete it',
    ]);
  });

  it("prints a plan as + create, ~ change and - delete lines with their paths, and never a value", () => {
    const d = desired(
      yaml(
        "version: 1",
        "organizations:",
        "  - identifier: acme",
        "    name: Acme",
        "    buckets: [{ name: logs, description: App logs }]",
        "    tokens:",
        "      - name: edge",
        "        kind: ingestion",
        "        description: Edge collectors",
        "        permissions: { signals: [logs], buckets: [logs] }",
        "        expire_time: 2027-01-01T00:00:00Z",
        "        value_from_env: EDGE",
        "  - identifier: shop",
      ),
    );
    const s = emptyInstance();
    const shop = { id: randomUUID(), identifier: "shop", name: "Shop", parentId: null, parentAccess: true };
    s.organizations.push(shop);
    s.tokens.push(
      tokenRow(shop.id, "default", "INGESTION", { description: "Default ingestion token" }),
      tokenRow(shop.id, "ci", "VERIFIER"),
    );
    const text = renderPlan(lines(plan(d, s, true)), "tessera.yaml");
    assert.equal(
      text,
      [
        "Plan for tessera.yaml (+ create, ~ change, - delete):",
        "",
        "  + organization acme  [organizations[0]]",
        '      name: "Acme"',
        "      default token: made with it",
        "  ~ organization shop  [organizations[1]]",
        '      name: "Shop" → "shop"',
        "  + bucket acme/logs  [organizations[0].buckets[0]]",
        '      description: "App logs"',
        "  + token acme/edge (ingestion)  [organizations[0].tokens[0]]",
        '      description: "Edge collectors"',
        "      permissions: signals logs; buckets logs",
        "      expires: 2027-01-01T00:00:00Z",
        "      value: from environment variable EDGE",
        "  - token shop/ci (verifier)  [not in the manifest]",
        "",
        "Plan: 3 to create, 1 to change, 1 to delete.",
      ].join("\n"),
    );
    assert.ok(!text.includes(EDGE));
  });
});

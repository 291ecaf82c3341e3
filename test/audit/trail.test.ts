/**
 * The audit trail (issue 13) through the real API: every admin change is recorded once, with its
 * actor and the fields it changed; a rolled-back change leaves nothing; refused calls are
 * recorded; organizations read only their own trail; no entry ever holds a token value; the
 * service role may only insert and read the table.
 */
import assert from "node:assert/strict";
import { Code } from "@connectrpc/connect";
import { AuditOutcome, type AuditEvent } from "../../src/gen/tessera/v1/audit_pb.js";
import { Role, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { APP_ROLE } from "../../src/store/roles.js";
import { allClients, grpcJsClients, type Clients } from "../helpers/clients.js";
import { superQuery } from "../helpers/db.js";
import { addMember, createOrg, issue, setupInstance, type Instance, type SeededOrg } from "../helpers/seed.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { eventually } from "../helpers/wait.js";
import { rejects } from "../service/support.js";

const INSTANCE = "00000000-0000-0000-0000-000000000000";

describe("the audit trail", () => {
  let server: TestServer;
  let c: Clients;
  let inst: Instance;
  let a: SeededOrg;
  let b: SeededOrg;
  /** Every token value this file ever sees: none may appear in any audit row. */
  const values: string[] = [];

  const trail = async (token: string, organizationId = "", filters: Record<string, unknown> = {}): Promise<AuditEvent[]> => {
    const out: AuditEvent[] = [];
    let pageToken = "";
    do {
      const r = await c.admin.listAuditEvents({ organizationId, pageSize: 1000, pageToken, ...filters }, token);
      out.push(...r.events);
      pageToken = r.nextPageToken;
    } while (pageToken !== "");
    return out;
  };
  const about = (events: AuditEvent[], targetId: string) => events.filter((e) => e.target?.id === targetId);

  before(async () => {
    server = await startTestServer();
    c = grpcJsClients(server.tessera.grpcPort);
    inst = await setupInstance(c);
    values.push(inst.operatorToken, inst.verifierToken);
    a = await createOrg(c, inst.operatorToken);
    b = await createOrg(c, inst.operatorToken);
    values.push(a.adminToken, a.defaultTokenValue, b.adminToken, b.defaultTokenValue);
  });
  after(async () => {
    c?.close();
    await server?.close();
  });

  it("records Setup's changes, with the setup actor, in the first organization's trail", async () => {
    const events = await trail(inst.operatorToken);
    const setup = events.filter((e) => e.actor?.system === "setup");
    assert.deepEqual(setup.map((e) => e.action).sort(), [
      "bucket.create",
      "membership.set",
      "organization.create",
      "token.create",
      "token.create",
      "user.create",
    ]);
    for (const e of setup) {
      assert.equal(e.outcome, AuditOutcome.OK);
      assert.equal(e.rpc, "/tessera.v1.TokenAdminService/Setup");
      assert.equal(e.organizationId, inst.orgId);
    }
  });

  it("records each token change once, with its actor, request and the fields before and after", async () => {
    const t = await issue(c, a.adminToken, { kind: TokenKind.INGESTION, description: "first" });
    values.push(t.value);
    await c.admin.updateToken({ id: t.id, description: "second" }, a.adminToken);
    await c.admin.setTokenEnabled({ id: t.id, enabled: false }, a.adminToken);
    await c.admin.setTokenEnabled({ id: t.id, enabled: false }, a.adminToken); // no change: no entry
    await c.admin.setTokenEnabled({ id: t.id, enabled: true }, a.adminToken);
    const rotated = await c.admin.rotateToken({ id: t.id, gracePeriod: { seconds: 600n, nanos: 0 } }, a.adminToken);
    values.push(rotated.value);
    await c.admin.deleteToken({ id: t.id }, a.adminToken);

    const events = about(await trail(a.adminToken), t.id);
    assert.deepEqual(
      events.map((e) => e.action),
      ["token.delete", "token.rotate", "token.enable", "token.disable", "token.update", "token.create"],
      "newest first, each change once",
    );
    for (const e of events) {
      assert.equal(e.organizationId, a.orgId);
      assert.equal(e.actor?.tokenId, a.adminTokenId);
      assert.equal(e.actor?.tokenKind, TokenKind.ALL_ACCESS);
      assert.equal(e.actor?.userId, a.adminUserId);
      assert.equal(e.actor?.organizationId, a.orgId);
      assert.equal(e.outcome, AuditOutcome.OK);
      assert.match(e.requestId, /^[0-9a-f-]{36}$/);
      assert.match(e.peer, /127\.0\.0\.1:\d+$/);
      assert.match(e.userAgent, /grpc-node-js/);
      assert.match(e.id, /^[0-9a-f-]{36}$/);
    }
    // Linked into the chain once committed: each has its place and hash.
    const sealed = await eventually(async () => {
      const all = about(await trail(a.adminToken), t.id);
      return all.every((e) => e.sequence > 0n && e.hash.length === 32) ? all : undefined;
    });
    assert.deepEqual(
      sealed.map((e) => e.sequence),
      [...sealed.map((e) => e.sequence)].sort((x, y) => (x > y ? -1 : 1)),
    );
    const [del, rot, en, dis, upd, cre] = events;
    assert.equal(cre!.after?.description, "first");
    assert.equal(cre!.after?.kind, "INGESTION");
    assert.equal(cre!.before, undefined);
    assert.deepEqual(upd!.before, { description: "first" });
    assert.deepEqual(upd!.after, { description: "second" });
    assert.deepEqual([dis!.before, dis!.after], [{ enabled: true }, { enabled: false }]);
    assert.deepEqual([en!.before, en!.after], [{ enabled: false }, { enabled: true }]);
    assert.equal(rot!.before?.previous_value_expire_time, null);
    assert.equal(typeof rot!.after?.previous_value_expire_time, "string");
    assert.equal(del!.before?.description, "second");
    assert.equal(del!.after, undefined);
    assert.equal(upd!.rpc, "/tessera.v1.TokenAdminService/UpdateToken");
  });

  it("keeps a caller's own x-request-id and refuses to take a malformed one", async () => {
    const t = await c.admin.createToken({ name: "with-request-id", kind: TokenKind.INGESTION }, a.adminToken);
    values.push(t.value);
    const http = allClients({ grpcPort: server.tessera.grpcPort, httpPort: server.tessera.httpPort });
    try {
      const res = await fetch(`http://127.0.0.1:${server.tessera.httpPort}/tessera.v1.TokenAdminService/SetTokenEnabled`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${a.adminToken}`, "x-request-id": "ticket-4711.a" },
        body: JSON.stringify({ id: t.token!.id, enabled: false }),
      });
      assert.equal(res.status, 200);
      const bad = await fetch(`http://127.0.0.1:${server.tessera.httpPort}/tessera.v1.TokenAdminService/SetTokenEnabled`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${a.adminToken}`, "x-request-id": "a b<script>" },
        body: JSON.stringify({ id: t.token!.id, enabled: true }),
      });
      assert.equal(bad.status, 200);
    } finally {
      for (const h of http) h.close();
    }
    const events = about(await trail(a.adminToken), t.token!.id);
    assert.equal(events.find((e) => e.action === "token.disable")?.requestId, "ticket-4711.a");
    assert.match(events.find((e) => e.action === "token.enable")!.requestId, /^[0-9a-f-]{36}$/);
  });

  it("records organization, user, membership and bucket changes", async () => {
    const sub = await c.admin.createOrganization({ identifier: `audited-sub-${Date.now() % 100000}`, parentId: a.orgId }, a.adminToken);
    values.push(sub.defaultTokenValue);
    const subId = sub.organization!.id;
    await c.admin.updateOrganization({ organization: { id: subId, name: "Renamed" }, updateMask: { paths: ["name"] } }, a.adminToken);
    await c.admin.setOrganizationEnabled({ id: subId, enabled: false }, a.adminToken);
    await c.admin.setOrganizationEnabled({ id: subId, enabled: true }, a.adminToken);
    const userId = await addMember(c, a.adminToken, a.orgId, Role.VIEWER);
    await c.admin.setMembership({ organizationId: a.orgId, userId, role: Role.EDITOR }, a.adminToken);
    await c.admin.removeMembership({ organizationId: a.orgId, userId }, a.adminToken);
    await c.admin.createBucket({ name: "audited-bucket", description: "d" }, a.adminToken);
    await c.admin.deleteBucket({ name: "audited-bucket" }, a.adminToken);
    await c.admin.deleteUser({ id: userId }, inst.operatorToken);

    const subTrail = await trail(a.adminToken, subId);
    assert.deepEqual(
      about(subTrail, subId).map((e) => e.action),
      ["organization.enable", "organization.disable", "organization.update", "organization.create"],
    );
    const update = subTrail.find((e) => e.action === "organization.update")!;
    assert.deepEqual([update.before, update.after], [{ name: sub.organization!.name }, { name: "Renamed" }]);
    assert.ok(
      subTrail.some((e) => e.action === "token.create" && e.target?.id === sub.defaultToken!.id),
      "the default token is on the record",
    );
    // The parent's admin acted: its trail shows the actor, the sub-organization's trail holds the change.
    assert.ok(subTrail.every((e) => e.actor?.organizationId === a.orgId));

    const own = await trail(a.adminToken);
    assert.deepEqual(
      about(own, userId).map((e) => e.action),
      ["membership.remove", "membership.set", "membership.set", "user.create"],
    );
    const roleChange = about(own, userId)[1]!;
    assert.deepEqual([roleChange.before, roleChange.after], [{ role: "VIEWER" }, { role: "EDITOR" }]);
    assert.deepEqual(
      own.filter((e) => e.target?.type === "bucket" && e.target.name === "audited-bucket").map((e) => e.action),
      ["bucket.delete", "bucket.create"],
    );
    // Users belong to no organization: DeleteUser is on the operator's organization's record.
    const deleted = about(await trail(inst.operatorToken), userId);
    assert.deepEqual(
      deleted.map((e) => e.action),
      ["user.delete"],
    );
    assert.equal(deleted[0]!.actor?.tokenKind, TokenKind.OPERATOR);
  });

  it("records DeleteBucket's forced changes to tokens with the bucket's deletion", async () => {
    await c.admin.createBucket({ name: "forced" }, a.adminToken);
    await c.admin.createBucket({ name: "kept" }, a.adminToken);
    const narrowed = await issue(c, a.adminToken, { kind: TokenKind.INGESTION, permissions: { buckets: ["forced", "kept"] } });
    const gone = await issue(c, a.adminToken, { kind: TokenKind.INGESTION, permissions: { buckets: ["forced"] } });
    values.push(narrowed.value, gone.value);
    await c.admin.deleteBucket({ name: "forced", force: true }, a.adminToken);
    const events = await trail(a.adminToken);
    const n = about(events, narrowed.id)[0]!;
    assert.equal(n.action, "token.update");
    assert.deepEqual(n.before?.permissions, { buckets: ["forced", "kept"] });
    assert.deepEqual(n.after?.permissions, { buckets: ["kept"] });
    const g = about(events, gone.id)[0]!;
    assert.equal(g.action, "token.delete");
    const bucket = events.find((e) => e.action === "bucket.delete" && e.target?.name === "forced")!;
    assert.equal(bucket.requestId, n.requestId, "one request, one id");
    assert.equal(bucket.requestId, g.requestId);
  });

  it("leaves no entry for a change that rolled back", async () => {
    const before = await trail(a.adminToken);
    const name = `rolled-back-${Date.now() % 100000}`;
    // The first bucket is created (and recorded) inside the apply's transaction; the second
    // operation fails, so both roll back.
    await rejects(
      c.admin.applyManifest(
        {
          organizations: [
            {
              path: "organizations[0]",
              identifier: a.identifier,
              buckets: [{ path: "organizations[0].buckets[0]", name }],
              tokens: [
                {
                  path: "organizations[0].tokens[0]",
                  name: "holds-a-taken-value",
                  kind: TokenKind.INGESTION,
                  // Taken by the organization's default token: only the execution finds out.
                  value: a.defaultTokenValue,
                },
              ],
            },
          ],
        },
        a.adminToken,
      ),
      Code.AlreadyExists,
    );
    // A dry run does the same work and rolls it back too.
    await c.admin.applyManifest(
      {
        dryRun: true,
        organizations: [{ path: "organizations[0]", identifier: a.identifier, buckets: [{ path: "organizations[0].buckets[0]", name }] }],
      },
      a.adminToken,
    );
    const afterwards = await trail(a.adminToken);
    assert.deepEqual(
      afterwards.map((e) => e.id),
      before.map((e) => e.id),
      "no entry was added",
    );
    const rows = await superQuery<{ n: string }>(server.db, `SELECT count(*)::text AS n FROM audit_events WHERE target->>'name' = $1`, [
      name,
    ]);
    assert.equal(rows[0]!.n, "0");
    // A real apply is recorded: its changes and the run itself.
    await c.admin.applyManifest(
      { organizations: [{ path: "organizations[0]", identifier: a.identifier, buckets: [{ path: "organizations[0].buckets[0]", name }] }] },
      a.adminToken,
    );
    const applied = await trail(a.adminToken);
    const run = applied.find((e) => e.action === "manifest.apply")!;
    assert.deepEqual(run.after, { operations: 1, prune: false });
    const created = applied.find((e) => e.action === "bucket.create" && e.target?.name === name)!;
    assert.equal(created.requestId, run.requestId);
  });

  it("records PERMISSION_DENIED and refused credentials, and the caller still gets its answer", async () => {
    // An ALL_ACCESS token whose owner was demoted to VIEWER afterwards: it authenticates, as a VIEWER.
    const viewerId = await addMember(c, a.adminToken, a.orgId, Role.ADMIN);
    const viewer = await c.admin.createToken({ name: "viewer-all", kind: TokenKind.ALL_ACCESS, userId: viewerId }, a.adminToken);
    values.push(viewer.value);
    await c.admin.setMembership({ organizationId: a.orgId, userId: viewerId, role: Role.VIEWER }, a.adminToken);
    await rejects(c.admin.createBucket({ name: "not-allowed" }, viewer.value), Code.PermissionDenied);
    const denied = await eventually(async () =>
      (await trail(a.adminToken)).find((e) => e.action === "call.denied" && e.actor?.tokenId === viewer.token!.id),
    );
    assert.equal(denied.outcome, AuditOutcome.PERMISSION_DENIED);
    assert.equal(denied.rpc, "/tessera.v1.TokenAdminService/CreateBucket");
    assert.match(denied.reason, /requires the ADMIN role/);
    assert.equal(denied.actor?.userId, viewerId);

    // A disabled token: its own organization's trail says which token was refused.
    await c.admin.setTokenEnabled({ id: viewer.token!.id, enabled: false }, a.adminToken);
    await rejects(c.admin.listTokens({}, viewer.value), Code.Unauthenticated);
    const refused = await eventually(async () =>
      (await trail(a.adminToken, "", { outcome: AuditOutcome.UNAUTHENTICATED })).find((e) => e.actor?.tokenId === viewer.token!.id),
    );
    assert.equal(refused.action, "auth.refused");
    assert.equal(refused.rpc, "/tessera.v1.TokenAdminService/ListTokens");
    assert.match(refused.reason, /disabled/);

    // A credential naming no token: the instance's trail, for operators only.
    const unknown = "tsop_" + "A".repeat(40);
    for (const client of allClients({ grpcPort: server.tessera.grpcPort, httpPort: server.tessera.httpPort })) {
      try {
        await rejects(client.admin.listTokens({}, unknown), Code.Unauthenticated, client.name);
      } finally {
        client.close();
      }
    }
    const instance = await eventually(async () => {
      const r = await trail(inst.operatorToken, INSTANCE, { action: "auth." });
      return r.length >= 5 ? r : undefined;
    });
    assert.ok(instance.every((e) => e.actor?.tokenId === "" && e.outcome === AuditOutcome.UNAUTHENTICATED));
    assert.ok(instance.some((e) => /^\d+\.\d+\.\d+\.\d+:\d+$/.test(e.peer)));
    await rejects(
      c.admin.listAuditEvents({ organizationId: INSTANCE }, a.adminToken),
      Code.PermissionDenied,
      "an org admin reading the instance trail",
    );
    // A stream refused before its first message is on the record like any other call.
    await rejects(
      (async () => {
        for await (const _ of c.admin.watchAuditEvents({ organizationId: INSTANCE }, a.adminToken)) break;
      })(),
      Code.PermissionDenied,
      "an org admin following the instance trail",
    );
    await eventually(async () =>
      (await trail(a.adminToken, "", { action: "call.denied" })).some((e) => e.rpc === "/tessera.v1.TokenAdminService/WatchAuditEvents"),
    );
    // Missing credentials are refusals too.
    await rejects(c.admin.listTokens({}), Code.Unauthenticated);
    await eventually(async () => (await trail(inst.operatorToken, INSTANCE)).some((e) => /missing credentials/.test(e.reason)));
  });

  it("filters and pages newest first", async () => {
    const t = await issue(c, b.adminToken, { kind: TokenKind.INGESTION });
    values.push(t.value);
    for (let i = 0; i < 5; i++) await c.admin.setTokenEnabled({ id: t.id, enabled: i % 2 === 1 }, b.adminToken);
    const byTarget = await trail(b.adminToken, "", { targetId: t.id });
    assert.equal(byTarget.length, 6);
    // Sealed within a second or so: then every entry has its place in the chain.
    await eventually(async () => (await trail(b.adminToken, "", { targetId: t.id })).every((e) => e.sequence > 0n));
    const pages: bigint[][] = [];
    let pageToken = "";
    do {
      const r = await c.admin.listAuditEvents({ targetId: t.id, pageSize: 4, pageToken }, b.adminToken);
      pages.push(r.events.map((e) => e.sequence));
      pageToken = r.nextPageToken;
    } while (pageToken !== "");
    assert.deepEqual(
      pages.map((p) => p.length),
      [4, 2],
    );
    const flat = pages.flat();
    assert.deepEqual(
      flat,
      [...flat].sort((x, y) => (x > y ? -1 : 1)),
      "newest first",
    );
    assert.equal((await trail(b.adminToken, "", { action: "token.disable", targetId: t.id })).length, 3);
    assert.equal((await trail(b.adminToken, "", { action: "token.", targetId: t.id })).length, 6);
    assert.ok((await trail(b.adminToken, "", { actorTokenId: b.adminTokenId })).every((e) => e.actor?.tokenId === b.adminTokenId));
    const future = { seconds: BigInt(Math.floor(Date.now() / 1000) + 3600), nanos: 0 };
    assert.deepEqual(await trail(b.adminToken, "", { startTime: future }), []);
    // A page token belongs to its filters.
    const first = await c.admin.listAuditEvents({ targetId: t.id, pageSize: 1 }, b.adminToken);
    await rejects(c.admin.listAuditEvents({ pageSize: 1, pageToken: first.nextPageToken }, b.adminToken), Code.InvalidArgument);
  });

  it("answers bad filters with INVALID_ARGUMENT naming the field, without echoing them", async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ action: "Token.Create!" }, /action/],
      [{ actorTokenId: "not-a-uuid" }, /actor_token_id/],
      [{ actorUserId: "x" }, /actor_user_id/],
      [{ targetId: "a b" }, /target_id/],
      [{ pageSize: -1 }, /page_size/],
      [{ pageToken: "garbage!" }, /page_token/],
      [{ organizationId: "nope" }, /organization_id/],
      [{ outcome: 99 }, /outcome/],
      [{ startTime: { seconds: 200n, nanos: 0 }, endTime: { seconds: 100n, nanos: 0 } }, /end_time/],
    ];
    for (const [req, field] of cases) {
      const err = await rejects(
        c.admin.listAuditEvents(req, a.adminToken),
        Code.InvalidArgument,
        JSON.stringify(req, (_k, v) => (typeof v === "bigint" ? String(v) : v)),
      );
      assert.match(err.rawMessage, field);
      assert.ok(!err.rawMessage.includes("Token.Create!") && !err.rawMessage.includes("garbage!"));
    }
    await rejects(
      (async () => {
        for await (const _ of c.admin.watchAuditEvents({ afterSequence: -1n }, a.adminToken)) break;
      })(),
      Code.InvalidArgument,
    );
    // And the server keeps serving.
    assert.ok((await trail(a.adminToken)).length > 0);
  });

  it("keeps each organization's trail to itself, down to the database", async () => {
    const own = await trail(b.adminToken);
    assert.ok(own.length > 0 && own.every((e) => e.organizationId === b.orgId));
    const text = JSON.stringify(own, (_k, v) => (typeof v === "bigint" ? String(v) : v));
    assert.ok(!text.includes(a.orgId) && !text.includes(a.adminTokenId), "nothing of organization a");
    await rejects(c.admin.listAuditEvents({ organizationId: a.orgId }, b.adminToken), Code.NotFound);
    await rejects(c.admin.verifyAuditLog({ organizationId: a.orgId }, b.adminToken), Code.NotFound);
    // Only ADMINs read a trail.
    const editorId = await addMember(c, b.adminToken, b.orgId, Role.ADMIN);
    const editor = await c.admin.createToken({ name: "editor-all", kind: TokenKind.ALL_ACCESS, userId: editorId }, b.adminToken);
    values.push(editor.value);
    await c.admin.setMembership({ organizationId: b.orgId, userId: editorId, role: Role.EDITOR }, b.adminToken);
    await rejects(c.admin.listAuditEvents({}, editor.value), Code.PermissionDenied);
    // Operators read every organization's.
    assert.ok((await trail(inst.operatorToken, a.orgId)).length > 0);
  });

  it("lets the service role only insert and read the table, under forced row-level security", async () => {
    for (const table of ["audit_events", "audit_seals"]) {
      const privileges = await superQuery<{ p: string; has: boolean }>(
        server.db,
        `SELECT p, has_table_privilege($1, $2, p) AS has FROM unnest(ARRAY['SELECT','INSERT','UPDATE','DELETE','TRUNCATE','REFERENCES','TRIGGER']) AS p`,
        [APP_ROLE, table],
      );
      assert.deepEqual(
        Object.fromEntries(privileges.map((r) => [r.p, r.has])),
        { SELECT: true, INSERT: true, UPDATE: false, DELETE: false, TRUNCATE: false, REFERENCES: false, TRIGGER: false },
        table,
      );
    }
    const rls = await superQuery<{ enabled: boolean; forced: boolean }>(
      server.db,
      `SELECT relrowsecurity AS enabled, relforcerowsecurity AS forced FROM pg_class WHERE relname IN ('audit_events', 'audit_seals')`,
    );
    assert.deepEqual(rls, [
      { enabled: true, forced: true },
      { enabled: true, forced: true },
    ]);
    const pg = await import("pg");
    const app = new pg.default.Client({ connectionString: server.db.appUrl });
    await app.connect();
    try {
      // Without a context: no rows. With one: that organization's rows only, and no changes.
      assert.equal((await app.query(`SELECT * FROM audit_events`)).rowCount, 0);
      await app.query("BEGIN");
      await app.query(`SELECT set_config('tessera.org_id', $1, true)`, [a.orgId]);
      const r = await app.query<{ org_id: string }>(`SELECT org_id FROM audit_events`);
      assert.ok(r.rowCount! > 0 && r.rows.every((x) => x.org_id === a.orgId));
      await assert.rejects(app.query(`UPDATE audit_events SET reason = 'x'`), /permission denied/);
      await app.query("ROLLBACK");
      await assert.rejects(app.query(`DELETE FROM audit_events`), /permission denied/);
      await assert.rejects(app.query(`TRUNCATE audit_events`), /permission denied/);
      await assert.rejects(app.query(`DELETE FROM audit_seals`), /permission denied/);
      await assert.rejects(app.query(`UPDATE audit_seals SET entry_ok = false`), /permission denied/);
      // Retention's function is the one way to remove rows, and never removes a young one.
      await app.query("BEGIN");
      await app.query(`SELECT set_config('tessera.org_id', $1, true)`, [a.orgId]);
      const pruned = await app.query(`SELECT * FROM tessera_audit_prune(now() + interval '100 years', 100000)`);
      assert.deepEqual(pruned.rows, [{ through_seq: null, through_hash: null }]);
      await app.query("COMMIT");
    } finally {
      await app.end();
    }
  });

  it("never holds a token value, in any row", async () => {
    assert.ok(values.length >= 10);
    const rows = await superQuery<{ row: string }>(server.db, `SELECT a::text AS row FROM audit_events a`);
    assert.ok(rows.length > 30);
    for (const r of rows) {
      for (const v of values) {
        assert.ok(!r.row.includes(v), "an audit row contains a token value");
        // Nor its secret part, in case something were stored without the prefix.
        assert.ok(!r.row.includes(v.slice(5, 25)), "an audit row contains part of a token value");
      }
    }
  });
});

/**
 * Tamper evidence (issue 13): the database superuser changes, removes and inserts audit rows, and
 * VerifyAuditLog reports each at the right entry; undoing the change makes the trail verify again.
 * Retention removes old entries and leaves the rest verifiable, while a removal by anyone else
 * is still reported. WatchAuditEvents follows a trail and resumes where it left off.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { AuditProblemKind, type AuditEvent } from "../../src/gen/tessera/v1/audit_pb.js";
import { TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { macMessage } from "../../src/domain/audit/mac-message.js";
import type { AuditContent } from "../../src/domain/audit/entry.js";
import { createDatabase, type Database } from "../../src/store/database.js";
import { pruneAuditTrails } from "../../src/services/audit/retention.js";
import { createAuditTrail } from "../../src/services/audit/trail.js";
import { grpcJsClients, type Clients } from "../helpers/clients.js";
import { superQuery } from "../helpers/db.js";
import { createOrg, issue, setupInstance, type SeededOrg } from "../helpers/seed.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

interface Row {
  org_id: string;
  seq: string;
  at: Date;
  actor: AuditContent["actor"];
  action: string;
  target: AuditContent["target"];
  before: AuditContent["before"];
  after: AuditContent["after"];
  request_id: string;
  peer: string;
  user_agent: string;
  rpc: string;
  outcome: AuditContent["outcome"];
  reason: string;
  key_id: number;
  prev_hash: Buffer;
  hash: Buffer;
}

describe("the audit trail's hash chain", () => {
  let server: TestServer;
  let c: Clients;
  let operator: string;
  let org: SeededOrg;

  const rows = (orgId: string) => superQuery<Row>(server.db, `SELECT * FROM audit_events WHERE org_id = $1 ORDER BY seq`, [orgId]);
  const verify = (orgId = org.orgId) => c.admin.verifyAuditLog({ organizationId: orgId }, operator);
  const problems = async (orgId = org.orgId) =>
    (await verify(orgId)).problems.map((p) => [Number(p.sequence), AuditProblemKind[p.kind]] as [number, string]);

  before(async () => {
    server = await startTestServer();
    c = grpcJsClients(server.tessera.grpcPort);
    operator = (await setupInstance(c)).operatorToken;
    org = await createOrg(c, operator);
    const t = await issue(c, org.adminToken, { kind: TokenKind.INGESTION });
    for (let i = 0; i < 8; i++) await c.admin.setTokenEnabled({ id: t.id, enabled: i % 2 === 1 }, org.adminToken);
  });
  after(async () => {
    c?.close();
    await server?.close();
  });

  it("verifies an untouched trail and says where its head is", async () => {
    const r = await verify();
    const stored = await rows(org.orgId);
    assert.ok(stored.length >= 12);
    assert.equal(r.intact, true);
    assert.deepEqual(r.problems, []);
    assert.equal(Number(r.entriesChecked), stored.length);
    assert.equal(r.firstSequence, 1n);
    assert.equal(r.lastSequence, BigInt(stored.length));
    assert.deepEqual(Buffer.from(r.headHash), stored[stored.length - 1]!.hash);
    // Each entry links to the one before; the first to the genesis hash.
    assert.deepEqual(stored[0]!.prev_hash, Buffer.alloc(32));
    for (let i = 1; i < stored.length; i++) assert.deepEqual(stored[i]!.prev_hash, stored[i - 1]!.hash);
  });

  it("reports an edited entry as CHANGED, whichever column was edited", async () => {
    const edits: Array<[string, string]> = [
      ["reason", `'edited'`],
      ["action", `'token.enable'`],
      ["at", `at - interval '1 second'`],
      ["after", `'{"enabled": true}'::jsonb`],
      ["actor", `jsonb_set(actor, '{token_id}', '"00000000-0000-4000-8000-000000000000"')`],
      ["peer", `'10.0.0.1:1'`],
    ];
    for (const [column, value] of edits) {
      const [original] = await superQuery<Row>(server.db, `SELECT * FROM audit_events WHERE org_id = $1 AND seq = 7`, [org.orgId]);
      await superQuery(server.db, `UPDATE audit_events SET ${column} = ${value} WHERE org_id = $1 AND seq = 7`, [org.orgId]);
      assert.deepEqual(await problems(), [[7, "CHANGED"]], column);
      assert.equal((await verify()).intact, false);
      await superQuery(server.db, `UPDATE audit_events SET ${column} = $2 WHERE org_id = $1 AND seq = 7`, [
        org.orgId,
        column === "at"
          ? original!.at
          : column === "after" || column === "actor"
            ? JSON.stringify(original![column])
            : original![column as "reason"],
      ]);
      assert.deepEqual(await problems(), [], `${column} restored`);
    }
    // Re-hashing the edited entry without the key does not help: the MAC is keyed.
    await superQuery(server.db, `UPDATE audit_events SET reason = 'edited', hash = sha256(hash) WHERE org_id = $1 AND seq = 5`, [
      org.orgId,
    ]);
    assert.deepEqual(await problems(), [[5, "CHANGED"]]);
  });

  it("reports removed entries at the first entry after the gap, and an inserted one as INSERTED", async () => {
    const orgB = await createOrg(c, operator);
    const t = await issue(c, orgB.adminToken, { kind: TokenKind.INGESTION });
    for (let i = 0; i < 6; i++) await c.admin.setTokenEnabled({ id: t.id, enabled: i % 2 === 1 }, orgB.adminToken);
    assert.deepEqual(await problems(orgB.orgId), []);

    await superQuery(server.db, `DELETE FROM audit_events WHERE org_id = $1 AND seq IN (4, 5)`, [orgB.orgId]);
    assert.deepEqual(await problems(orgB.orgId), [[6, "REMOVED"]]);

    // An entry inserted in an untouched trail, linking in correctly but without a valid MAC.
    const orgC = await createOrg(c, operator);
    await issue(c, orgC.adminToken, { kind: TokenKind.INGESTION });
    const before = await rows(orgC.orgId);
    await superQuery(server.db, `UPDATE audit_events SET seq = seq + 1000000 WHERE org_id = $1 AND seq >= 3`, [orgC.orgId]);
    await superQuery(server.db, `UPDATE audit_events SET seq = seq - 999999 WHERE org_id = $1 AND seq > 1000000`, [orgC.orgId]);
    await superQuery(
      server.db,
      `INSERT INTO audit_events
         SELECT org_id, 3, at, actor, 'token.delete', target, before, NULL, request_id, peer, user_agent, rpc, outcome, reason, key_id, hash, $2
           FROM audit_events WHERE org_id = $1 AND seq = 2`,
      [orgC.orgId, randomBytes(32)],
    );
    assert.deepEqual(await problems(orgC.orgId), [[3, "INSERTED"]]);
    assert.equal(Number((await verify(orgC.orgId)).entriesChecked), before.length + 1);
  });

  it("keeps a pruned trail verifiable, and still reports a removal beyond what retention removed", async () => {
    const orgD = await createOrg(c, operator);
    const t = await issue(c, orgD.adminToken, { kind: TokenKind.INGESTION });
    for (let i = 0; i < 6; i++) await c.admin.setTokenEnabled({ id: t.id, enabled: i % 2 === 1 }, orgD.adminToken);
    // Age the first five entries by a year, re-signing the chain with the server's key, as if
    // they had been written then.
    const stored = await rows(orgD.orgId);
    const old = new Date(Date.now() - 365 * 86_400_000);
    let prev: Buffer = Buffer.alloc(32);
    for (const [i, r] of stored.entries()) {
      const content: AuditContent = {
        orgId: r.org_id,
        at: i < 5 ? new Date(old.getTime() + i) : r.at,
        actor: r.actor,
        action: r.action,
        target: r.target,
        before: r.before,
        after: r.after,
        requestId: r.request_id,
        peer: r.peer,
        userAgent: r.user_agent,
        rpc: r.rpc,
        outcome: r.outcome,
        reason: r.reason,
      };
      const hash = server.keyring.auditMac(macMessage(prev, content), r.key_id);
      await superQuery(server.db, `UPDATE audit_events SET at = $3, prev_hash = $4, hash = $5 WHERE org_id = $1 AND seq = $2`, [
        r.org_id,
        r.seq,
        content.at,
        prev,
        hash,
      ]);
      prev = hash;
    }
    assert.deepEqual(await problems(orgD.orgId), [], "re-signed with the key, it verifies");

    const db: Database = createDatabase({ url: server.db.appUrl, poolSize: 2 });
    try {
      const pruned = await pruneAuditTrails(db, createAuditTrail(server.keyring), new Date(Date.now() - 30 * 86_400_000));
      assert.ok(pruned >= 1);
    } finally {
      await db.close();
    }
    const after = await rows(orgD.orgId);
    assert.equal(after[0]!.seq, "6", "the five old entries are gone");
    const last = after[after.length - 1]!;
    assert.equal(last.action, "audit.prune");
    assert.equal(last.actor.system, "upkeep");
    assert.equal(last.after?.through_sequence, "5");
    const r = await verify(orgD.orgId);
    assert.deepEqual(r.problems, [], "the rest still verifies");
    assert.equal(r.firstSequence, 6n);

    // Removing the oldest kept entry looks like nothing retention did.
    await superQuery(server.db, `DELETE FROM audit_events WHERE org_id = $1 AND seq = 6`, [orgD.orgId]);
    assert.deepEqual(await problems(orgD.orgId), [[7, "REMOVED"]]);
  });

  it("streams new entries with WatchAuditEvents and resumes after a sequence number", async () => {
    const orgE = await createOrg(c, operator);
    const existing = await rows(orgE.orgId);
    const t = await issue(c, orgE.adminToken, { kind: TokenKind.INGESTION });
    const seen: AuditEvent[] = [];
    const stream = (async () => {
      for await (const m of c.admin.watchAuditEvents({ organizationId: orgE.orgId }, orgE.adminToken)) {
        seen.push(m.event!);
        if (seen.length === 3) break;
      }
    })();
    // Unset after_sequence means "from now on": keep changing things until the stream has three.
    for (let i = 0; seen.length < 3; i++) {
      await c.admin.setTokenEnabled({ id: t.id, enabled: i % 2 === 1 }, orgE.adminToken);
      await new Promise((r) => setTimeout(r, 50));
    }
    await stream;
    assert.ok(seen[0]!.sequence > BigInt(existing.length + 1), "nothing from before it started");
    assert.deepEqual(
      seen.map((e) => e.sequence - seen[0]!.sequence),
      [0n, 1n, 2n],
      "consecutive, oldest first",
    );
    assert.ok(seen.every((e) => e.action === "token.disable" || e.action === "token.enable"));

    const resumed: AuditEvent[] = [];
    for await (const m of c.admin.watchAuditEvents({ organizationId: orgE.orgId, afterSequence: 1n }, orgE.adminToken)) {
      resumed.push(m.event!);
      if (resumed.length === existing.length + 2) break;
    }
    assert.deepEqual(
      resumed.map((e) => Number(e.sequence)),
      Array.from({ length: existing.length + 2 }, (_, i) => i + 2),
      "every entry after 1, in order",
    );
  });
});

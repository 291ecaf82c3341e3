/**
 * Tamper evidence (issue 13): the database superuser changes, removes and inserts audit rows, and
 * VerifyAuditLog reports each at the right entry; undoing the change makes the trail verify again.
 * Retention removes old entries and leaves the rest verifiable, while a removal by anyone else
 * is still reported. WatchAuditEvents follows a trail and resumes where it left off.
 */
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { AuditProblemKind, type AuditEvent } from "../../src/gen/tessera/v1/audit_pb.js";
import { TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { entryMacMessage, sealMacMessage } from "../../src/domain/audit/mac-message.js";
import type { AuditContent } from "../../src/domain/audit/entry.js";
import { createDatabase, type Database } from "../../src/store/database.js";
import { pruneAuditTrails } from "../../src/services/audit/retention.js";
import { createAuditTrail } from "../../src/services/audit/trail.js";
import { grpcJsClients, type Clients } from "../helpers/clients.js";
import { superQuery } from "../helpers/db.js";
import { createOrg, issue, setupInstance, type SeededOrg } from "../helpers/seed.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { eventually } from "../helpers/wait.js";

interface Row {
  id: string;
  org_id: string;
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
  mac: Buffer;
  seq: string;
  prev_hash: Buffer;
  hash: Buffer;
  seal_key_id: number;
  entry_ok: boolean;
}

describe("the audit trail's hash chain", () => {
  let server: TestServer;
  let c: Clients;
  let operator: string;
  let org: SeededOrg;

  /** An organization's sealed entries in chain order, once every entry is sealed. */
  const rows = async (orgId: string): Promise<Row[]> => {
    await eventually(async () => {
      const [n] = await superQuery<{ unsealed: string }>(
        server.db,
        `SELECT count(*)::text AS unsealed FROM audit_events e WHERE org_id = $1 AND NOT EXISTS (SELECT 1 FROM audit_seals s WHERE s.entry_id = e.id)`,
        [orgId],
      );
      return n!.unsealed === "0";
    });
    return superQuery<Row>(
      server.db,
      `SELECT e.*, s.seq::text AS seq, s.prev_hash, s.hash, s.key_id AS seal_key_id, s.entry_ok
         FROM audit_seals s JOIN audit_events e ON e.id = s.entry_id WHERE s.org_id = $1 ORDER BY s.seq`,
      [orgId],
    );
  };
  const entryAt = async (orgId: string, seq: number): Promise<string> => (await rows(orgId)).find((r) => r.seq === String(seq))!.id;
  const verify = (orgId = org.orgId) => c.admin.verifyAuditLog({ organizationId: orgId }, operator);
  const problems = async (orgId = org.orgId) =>
    (await verify(orgId)).problems.map((p) => [Number(p.sequence), AuditProblemKind[p.kind]] as [number, string]);
  const busyOrg = async (changes: number): Promise<SeededOrg> => {
    const o = await createOrg(c, operator);
    const t = await issue(c, o.adminToken, { kind: TokenKind.INGESTION });
    for (let i = 0; i < changes; i++) await c.admin.setTokenEnabled({ id: t.id, enabled: i % 2 === 1 }, o.adminToken);
    await rows(o.orgId);
    return o;
  };

  before(async () => {
    server = await startTestServer();
    c = grpcJsClients(server.tessera.grpcPort);
    operator = (await setupInstance(c)).operatorToken;
    org = await busyOrg(8);
  });
  after(async () => {
    c?.close();
    await server?.close();
  });

  it("verifies an untouched trail and says where its head is", async () => {
    const stored = await rows(org.orgId);
    const r = await verify();
    assert.ok(stored.length >= 12);
    assert.equal(r.intact, true);
    assert.deepEqual(r.problems, []);
    assert.equal(Number(r.entriesChecked), stored.length);
    assert.equal(r.firstSequence, 1n);
    assert.equal(r.lastSequence, BigInt(stored.length));
    assert.deepEqual(Buffer.from(r.headHash), stored[stored.length - 1]!.hash);
    // Each seal links to the one before; the first to the genesis hash.
    assert.deepEqual(stored[0]!.prev_hash, Buffer.alloc(32));
    for (let i = 1; i < stored.length; i++) assert.deepEqual(stored[i]!.prev_hash, stored[i - 1]!.hash);
    assert.ok(stored.every((r) => r.entry_ok));
  });

  it("reports an edited entry as CHANGED, whichever column was edited", async () => {
    const id = await entryAt(org.orgId, 7);
    const edits: Array<[string, string]> = [
      ["reason", `'edited'`],
      ["action", `'token.enable'`],
      ["at", `at - interval '1 second'`],
      ["after", `'{"enabled": true}'::jsonb`],
      ["actor", `jsonb_set(actor, '{token_id}', '"00000000-0000-4000-8000-000000000000"')`],
      ["peer", `'10.0.0.1:1'`],
      ["org_id", `org_id`],
    ];
    for (const [column, value] of edits) {
      const [original] = await superQuery<Row>(server.db, `SELECT * FROM audit_events WHERE id = $1`, [id]);
      await superQuery(server.db, `UPDATE audit_events SET ${column} = ${value} WHERE id = $1`, [id]);
      if (column !== "org_id") {
        assert.deepEqual(await problems(), [[7, "CHANGED"]], column);
        assert.equal((await verify()).intact, false);
      }
      await superQuery(server.db, `UPDATE audit_events SET ${column} = $2 WHERE id = $1`, [
        id,
        column === "at"
          ? original!.at
          : column === "after" || column === "actor"
            ? JSON.stringify(original![column])
            : original![column as "reason"],
      ]);
      assert.deepEqual(await problems(), [], `${column} restored`);
    }
    // Replacing the MAC without the key does not help: it is keyed, and the seal holds a copy.
    await superQuery(server.db, `UPDATE audit_events SET reason = 'edited', mac = sha256(mac) WHERE id = $1`, [
      await entryAt(org.orgId, 5),
    ]);
    assert.deepEqual(await problems(), [[5, "CHANGED"]]);
  });

  it("reports removed entries and seals at their place", async () => {
    const o = await busyOrg(6);
    // An entry removed, its seal left: that entry is missing.
    await superQuery(server.db, `DELETE FROM audit_events WHERE id = $1`, [await entryAt(o.orgId, 4)]);
    assert.deepEqual(await problems(o.orgId), [[4, "REMOVED"]]);
    // Entries and seals removed together: the next seal does not link.
    const o2 = await busyOrg(6);
    const gone = [await entryAt(o2.orgId, 4), await entryAt(o2.orgId, 5)];
    await superQuery(server.db, `DELETE FROM audit_seals WHERE org_id = $1 AND seq IN (4, 5)`, [o2.orgId]);
    await superQuery(server.db, `DELETE FROM audit_events WHERE id = ANY($1)`, [gone]);
    assert.deepEqual(await problems(o2.orgId), [[6, "REMOVED"]]);
  });

  it("reports inserted entries and seals as INSERTED", async () => {
    const o = await busyOrg(4);
    // A row added to the table: the sealer seals it (flagged), verification names it.
    await superQuery(
      server.db,
      `INSERT INTO audit_events (id, org_id, at, actor, action, target, before, after, request_id, peer, user_agent, rpc, outcome, reason, key_id, mac)
         SELECT gen_random_uuid(), org_id, at, actor, 'token.delete', target, NULL, NULL, request_id, peer, user_agent, rpc, outcome, reason, key_id, $2
           FROM audit_events WHERE id = $1`,
      [await entryAt(o.orgId, 3), randomBytes(32)],
    );
    const all = await rows(o.orgId);
    const forged = all[all.length - 1]!;
    assert.equal(forged.entry_ok, false, "sealed, flagged");
    assert.deepEqual(await problems(o.orgId), [[all.length, "INSERTED"]]);

    // A seal slipped into the middle of an untouched chain, the later ones renumbered.
    const o2 = await busyOrg(4);
    const before = await rows(o2.orgId);
    await superQuery(server.db, `UPDATE audit_seals SET seq = seq + 1000000 WHERE org_id = $1 AND seq >= 3`, [o2.orgId]);
    await superQuery(server.db, `UPDATE audit_seals SET seq = seq - 999999 WHERE org_id = $1 AND seq > 1000000`, [o2.orgId]);
    const src = before[1]!;
    const fakeEntry = randomUUID();
    await superQuery(
      server.db,
      `INSERT INTO audit_events (id, org_id, at, actor, action, target, before, after, request_id, peer, user_agent, rpc, outcome, reason, key_id, mac)
         SELECT $2, org_id, at, actor, 'token.delete', target, NULL, NULL, request_id, peer, user_agent, rpc, outcome, reason, key_id, $3
           FROM audit_events WHERE id = $1`,
      [src.id, fakeEntry, randomBytes(32)],
    );
    await superQuery(
      server.db,
      `INSERT INTO audit_seals (org_id, seq, entry_id, entry_xid, entry_pos, entry_mac, entry_ok, key_id, prev_hash, hash)
         SELECT org_id, 3, $2, entry_xid, entry_pos, (SELECT mac FROM audit_events WHERE id = $2), true, key_id, hash, $3
           FROM audit_seals WHERE org_id = $1 AND seq = 2`,
      [o2.orgId, fakeEntry, randomBytes(32)],
    );
    assert.deepEqual(await problems(o2.orgId), [[3, "INSERTED"]]);
    assert.equal(Number((await verify(o2.orgId)).entriesChecked), before.length + 1);
  });

  it("keeps a pruned trail verifiable, and still reports a removal beyond what retention removed", async () => {
    const o = await busyOrg(6);
    // Age the first five entries by a year, re-signing entries and seals with the server's key,
    // as if they had been written then.
    const stored = await rows(o.orgId);
    const old = new Date(Date.now() - 365 * 86_400_000);
    let prev: Buffer = Buffer.alloc(32);
    for (const [i, r] of stored.entries()) {
      const content: AuditContent = {
        id: r.id,
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
      const mac = server.keyring.auditMac(entryMacMessage(content), r.key_id);
      const hash = server.keyring.auditMac(
        sealMacMessage({ orgId: r.org_id, prevHash: prev, entryId: r.id, entryMac: mac, entryOk: true }),
        r.seal_key_id,
      );
      await superQuery(server.db, `UPDATE audit_events SET at = $2, mac = $3 WHERE id = $1`, [r.id, content.at, mac]);
      await superQuery(server.db, `UPDATE audit_seals SET entry_mac = $3, prev_hash = $4, hash = $5 WHERE org_id = $1 AND seq = $2`, [
        r.org_id,
        r.seq,
        mac,
        prev,
        hash,
      ]);
      prev = hash;
    }
    assert.deepEqual(await problems(o.orgId), [], "re-signed with the key, it verifies");

    const db: Database = createDatabase({ url: server.db.appUrl, poolSize: 2 });
    try {
      const pruned = await pruneAuditTrails(db, createAuditTrail(server.keyring), new Date(Date.now() - 30 * 86_400_000));
      assert.ok(pruned >= 1);
    } finally {
      await db.close();
    }
    const after = await rows(o.orgId);
    assert.equal(after[0]!.seq, "6", "the five old entries are gone");
    const last = after[after.length - 1]!;
    assert.equal(last.action, "audit.prune");
    assert.equal(last.actor.system, "upkeep");
    assert.equal(last.after?.through_sequence, "5");
    const r = await verify(o.orgId);
    assert.deepEqual(r.problems, [], "the rest still verifies");
    assert.equal(r.firstSequence, 6n);

    // Removing the oldest kept entry and its seal looks like nothing retention did.
    const oldest = after[0]!.id;
    await superQuery(server.db, `DELETE FROM audit_seals WHERE org_id = $1 AND seq = 6`, [o.orgId]);
    // Its entry left behind with no seal is noticed too.
    assert.deepEqual(await problems(o.orgId), [
      [7, "REMOVED"],
      [0, "INSERTED"],
    ]);
    await superQuery(server.db, `DELETE FROM audit_events WHERE id = $1`, [oldest]);
    assert.deepEqual(await problems(o.orgId), [[7, "REMOVED"]]);
  });

  it("streams new entries with WatchAuditEvents and resumes after a sequence number", async () => {
    const orgE = await createOrg(c, operator);
    const t = await issue(c, orgE.adminToken, { kind: TokenKind.INGESTION });
    const existing = await rows(orgE.orgId);
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
    assert.ok(seen[0]!.sequence > BigInt(existing.length), "nothing from before it started");
    assert.deepEqual(
      seen.map((e) => e.sequence - seen[0]!.sequence),
      [0n, 1n, 2n],
      "consecutive, oldest first",
    );
    assert.ok(seen.every((e) => e.action === "token.disable" || e.action === "token.enable"));

    const resumed: AuditEvent[] = [];
    for await (const m of c.admin.watchAuditEvents({ organizationId: orgE.orgId, afterSequence: 1n }, orgE.adminToken)) {
      resumed.push(m.event!);
      if (resumed.length === existing.length + 1) break;
    }
    assert.deepEqual(
      resumed.map((e) => Number(e.sequence)),
      Array.from({ length: existing.length + 1 }, (_, i) => i + 2),
      "every entry after 1, in order",
    );
  });
});

/**
 * WatchRevocations in memory: the opening checkpoint and the ones sent while nothing happens, an
 * event for every kind of change (with its token's organization), resuming from an event's, a
 * checkpoint's or a Verify answer's cursor, cancellation, and the stream's errors: malformed and
 * foreign cursors (INVALID_ARGUMENT), pruned ones (OUT_OF_RANGE), and callers.
 */
import assert from "node:assert/strict";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { EndpointClass, Role, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { RevocationReason } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { generateToken } from "../../src/domain/token-format.js";
import { superQuery } from "../helpers/db.js";
import { useInMemoryTessera } from "../helpers/in-memory.js";
import { createOrg, issue, type SeededOrg } from "../helpers/seed.js";
import { eventually } from "../helpers/wait.js";
import { adminDemotedTo, compareCursors, firstMessage, record, rejects, seedCallers, type Callers, type Recording } from "./support.js";

describe("WatchRevocations, in memory", () => {
  // The services' clock: moved forward (never back) to pass an expiry.
  let offset = 0;
  const f = useInMemoryTessera({ now: () => Date.now() + offset });
  let a: SeededOrg;
  let b: SeededOrg;
  let callers: Callers;
  const bearer = () => `Bearer ${f.inst.verifierToken}`;
  /** A recording that has received its opening checkpoint. */
  const opened = async (afterCursor = ""): Promise<Recording> => {
    const r = record(f.t, bearer(), afterCursor);
    await r.until((x) => x.items.length > 0, "the opening checkpoint");
    return r;
  };
  const has = (r: Recording, tokenId: string, reason: RevocationReason) =>
    r.events().some((e) => e.tokenId === tokenId && e.reason === reason);
  const waitFor = (r: Recording, tokenId: string, reason: RevocationReason) =>
    r.until(() => has(r, tokenId, reason), `a ${RevocationReason[reason]} event for ${tokenId}`);

  before(async () => {
    a = await createOrg(f.t.c, f.inst.operatorToken);
    b = await createOrg(f.t.c, f.inst.operatorToken);
    callers = await seedCallers(f.t.c, f.inst.operatorToken, a);
  });

  describe("a stream", () => {
    it("opens with a checkpoint of this database's feed, then sends checkpoints while nothing happens", async () => {
      const r = await opened();
      try {
        await r.until((x) => x.items.filter((i) => i.kind === "checkpoint").length >= 3, "three checkpoints");
        assert.equal(r.items[0]!.kind, "checkpoint", "the first message is a checkpoint");
        for (const i of r.items) assert.equal(i.cursor.split(".")[0], f.t.services.hub.feedId);
        for (let i = 1; i < r.items.length; i++)
          assert.ok(compareCursors(r.items[i - 1]!.cursor, r.items[i]!.cursor) <= 0, "cursors never go back");
      } finally {
        r.stop();
      }
    });

    it("sends an event for every kind of change made after it opened, creation included, each naming its token's organization, in cursor order", async () => {
      const r = await opened();
      try {
        const t = await issue(f.t.c, a.adminToken, { kind: TokenKind.INGESTION });
        await waitFor(r, t.id, RevocationReason.ENABLED);
        await f.t.c.admin.setTokenEnabled({ id: t.id, enabled: false }, a.adminToken);
        await waitFor(r, t.id, RevocationReason.DISABLED);
        await f.t.c.admin.setTokenEnabled({ id: t.id, enabled: true }, a.adminToken);
        await waitFor(r, t.id, RevocationReason.ENABLED);
        await f.t.c.admin.rotateToken({ id: t.id }, a.adminToken);
        await waitFor(r, t.id, RevocationReason.ROTATED);
        await f.t.c.admin.deleteToken({ id: t.id }, a.adminToken);
        await waitFor(r, t.id, RevocationReason.DELETED);

        const demoted = await adminDemotedTo(f.t.c, a.adminToken, a.orgId, Role.ADMIN);
        await f.t.c.admin.setMembership({ userId: demoted.userId, role: Role.EDITOR }, a.adminToken);
        await waitFor(r, demoted.tokenId, RevocationReason.OWNER_REMOVED);
        const leaver = await adminDemotedTo(f.t.c, a.adminToken, a.orgId, Role.ADMIN);
        await f.t.c.admin.removeMembership({ userId: leaver.userId }, a.adminToken);
        await waitFor(r, leaver.tokenId, RevocationReason.OWNER_REMOVED);
        const deleted = await adminDemotedTo(f.t.c, a.adminToken, a.orgId, Role.ADMIN);
        await f.t.c.admin.deleteUser({ id: deleted.userId }, f.inst.operatorToken);
        await waitFor(r, deleted.tokenId, RevocationReason.OWNER_REMOVED);

        const o = await createOrg(f.t.c, f.inst.operatorToken);
        await f.t.c.admin.setOrganizationEnabled({ id: o.orgId, enabled: false }, f.inst.operatorToken);
        for (const id of [o.defaultTokenId, o.adminTokenId]) await waitFor(r, id, RevocationReason.ORG_DISABLED);
        await f.t.c.admin.setOrganizationEnabled({ id: o.orgId, enabled: true }, f.inst.operatorToken);
        for (const id of [o.defaultTokenId, o.adminTokenId]) await waitFor(r, id, RevocationReason.ENABLED);

        const expiring = await issue(f.t.c, b.adminToken, {
          kind: TokenKind.INGESTION,
          expireTime: timestampFromMs(Date.now() + offset + 60_000),
        });
        offset += 61_000;
        await waitFor(r, expiring.id, RevocationReason.EXPIRED);

        const orgOf = new Map([
          [t.id, a.orgId],
          [demoted.tokenId, a.orgId],
          [leaver.tokenId, a.orgId],
          [deleted.tokenId, a.orgId],
          [o.defaultTokenId, o.orgId],
          [o.adminTokenId, o.orgId],
          [expiring.id, b.orgId],
        ]);
        const events = r.events();
        for (const e of events)
          if (orgOf.has(e.tokenId)) assert.equal(e.organizationId, orgOf.get(e.tokenId), `${RevocationReason[e.reason]} of ${e.tokenId}`);
        for (let i = 1; i < events.length; i++)
          assert.ok(compareCursors(events[i - 1]!.cursor, events[i]!.cursor) < 0, "event cursors strictly increase");
        assert.deepEqual(
          events.filter((e) => e.tokenId === t.id).map((e) => e.reason),
          [
            RevocationReason.ENABLED,
            RevocationReason.DISABLED,
            RevocationReason.ENABLED,
            RevocationReason.ROTATED,
            RevocationReason.DELETED,
          ],
          "one token's events in the order of its changes, its creation (ENABLED) first",
        );
      } finally {
        r.stop();
      }
    });

    it("ends the server's subscription when the client cancels it", async () => {
      const hub = f.t.services.hub;
      await eventually(() => hub.subscribers === 0, undefined, "no subscriber left by earlier tests");
      const r = await opened();
      assert.equal(hub.subscribers, 1);
      r.stop();
      await eventually(() => hub.subscribers === 0, undefined, "the subscription to end");
      assert.equal(r.error, undefined, "a cancelled stream is no error to its client");
    });
  });

  describe("resuming", () => {
    it("from an event's cursor sends every later event in order, and not that event again", async () => {
      const t = await issue(f.t.c, a.adminToken, { kind: TokenKind.INGESTION });
      const other = await issue(f.t.c, b.adminToken, { kind: TokenKind.INGESTION });
      const first = await opened();
      await f.t.c.admin.setTokenEnabled({ id: t.id, enabled: false }, a.adminToken);
      await waitFor(first, t.id, RevocationReason.DISABLED);
      first.stop();
      const at = first.events().find((e) => e.tokenId === t.id && e.reason === RevocationReason.DISABLED)!.cursor;
      // While nobody listens:
      await f.t.c.admin.rotateToken({ id: t.id }, a.adminToken);
      await f.t.c.admin.setTokenEnabled({ id: other.id, enabled: false }, b.adminToken);
      await f.t.c.admin.deleteToken({ id: t.id }, a.adminToken);
      const again = await opened(at);
      try {
        await waitFor(again, t.id, RevocationReason.DELETED);
        assert.equal(again.items[0]!.kind, "checkpoint");
        assert.equal(again.items[0]!.cursor, at, "the opening checkpoint is the cursor resumed from");
        const mine = again.events().filter((e) => e.tokenId === t.id || e.tokenId === other.id);
        assert.deepEqual(
          mine.map((e) => [e.tokenId, e.reason]),
          [
            [t.id, RevocationReason.ROTATED],
            [other.id, RevocationReason.DISABLED],
            [t.id, RevocationReason.DELETED],
          ],
        );
        for (const e of again.events()) assert.ok(compareCursors(at, e.cursor) < 0, "nothing at or before the cursor");
      } finally {
        again.stop();
      }
    });

    it("from a checkpoint's cursor sends the events made after it and none from before", async () => {
      const before = await issue(f.t.c, a.adminToken, { kind: TokenKind.INGESTION });
      const after = await issue(f.t.c, a.adminToken, { kind: TokenKind.INGESTION });
      const w = await opened();
      await f.t.c.admin.setTokenEnabled({ id: before.id, enabled: false }, a.adminToken);
      await waitFor(w, before.id, RevocationReason.DISABLED);
      const n = w.items.length;
      await w.until((x) => x.items.slice(n).some((i) => i.kind === "checkpoint"), "a checkpoint after the event");
      const cp = w.items.slice(n).find((i) => i.kind === "checkpoint")!.cursor;
      w.stop();
      await f.t.c.admin.setTokenEnabled({ id: after.id, enabled: false }, a.adminToken);
      const again = await opened(cp);
      try {
        await waitFor(again, after.id, RevocationReason.DISABLED);
        assert.ok(!has(again, before.id, RevocationReason.DISABLED), "the event before the checkpoint is not sent again");
      } finally {
        again.stop();
      }
    });

    it("from a Verify answer's cursor sends the changes made after the answer", async () => {
      const t = await issue(f.t.c, a.adminToken, { kind: TokenKind.INGESTION });
      const v = await f.t.c.verify.verify({ credential: t.value, endpoint: EndpointClass.INGEST }, f.inst.verifierToken);
      assert.notEqual(v.cursor, "");
      await f.t.c.admin.setTokenEnabled({ id: t.id, enabled: false }, a.adminToken);
      const r = await opened(v.cursor);
      try {
        await waitFor(r, t.id, RevocationReason.DISABLED);
      } finally {
        r.stop();
      }
    });
  });

  describe("errors", () => {
    it("answers INVALID_ARGUMENT for a cursor that is not a revocation cursor", async () => {
      const feed = f.t.services.hub.feedId;
      for (const [label, cursor] of [
        ["garbage", "garbage"],
        ["a feed id alone", feed],
        ["a short feed id", `${feed.slice(1)}.1.1`],
        ["an upper-case feed id", `${feed.toUpperCase().replace(/^[0-9]/, "A")}.1.1`],
        ["letters for a position", `${feed}.x.1`],
        ["a negative position", `${feed}.1.-1`],
        ["an event id past 2^63 - 1", `${feed}.1.9223372036854775808`],
        ["a transaction id past 2^64 - 1", `${feed}.18446744073709551616.1`],
        ["a page token", Buffer.from(JSON.stringify({ k: "t", p: "1:1" })).toString("base64url")],
        ["5,000 characters", "a".repeat(5000)],
      ] as const) {
        await rejects(firstMessage(f.t, cursor, bearer()), Code.InvalidArgument, label);
      }
    });

    it("answers INVALID_ARGUMENT for a well-formed cursor of another Tessera database, saying so", async () => {
      const own = (await firstMessage(f.t, "", bearer())).item.value!.cursor;
      const feed = own.split(".")[0]!;
      // Another database's feed id: any other eight hex digits. (Test databases are clones of one
      // migrated template and share theirs, so a second test database would not do.)
      const foreignFeed = feed === "0123abcd" ? "4567ef01" : "0123abcd";
      const foreign = [foreignFeed, ...own.split(".").slice(1)].join(".");
      const err = await rejects(firstMessage(f.t, foreign, bearer()), Code.InvalidArgument, "a foreign cursor");
      assert.match(err.rawMessage, /another Tessera database/);
      const ok = await firstMessage(f.t, own, bearer());
      assert.equal(ok.item.case, "checkpoint", "the same position under this database's feed id is fine");
    });

    it("answers OUT_OF_RANGE for a cursor older than the feed's retention", async () => {
      const t = await issue(f.t.c, a.adminToken, { kind: TokenKind.INGESTION });
      const w = await opened();
      const old = w.items[0]!.cursor;
      await f.t.c.admin.setTokenEnabled({ id: t.id, enabled: false }, a.adminToken);
      await waitFor(w, t.id, RevocationReason.DISABLED);
      w.stop();
      // Prune every event, as retention would once they are old enough.
      await superQuery(f.t.db, `SELECT tessera_prune_revocations(now() + interval '1 hour')`);
      const err = await rejects(firstMessage(f.t, old, bearer()), Code.OutOfRange, "a pruned cursor");
      assert.match(err.rawMessage, /retention/);
      assert.equal((await firstMessage(f.t, "", bearer())).item.case, "checkpoint", "starting from now still works");
    });

    it("answers UNAUTHENTICATED without credentials and with malformed or unknown ones", async () => {
      await rejects(firstMessage(f.t, "", undefined), Code.Unauthenticated, "no credentials");
      await rejects(firstMessage(f.t, "", "Bearer"), Code.Unauthenticated, "a scheme alone");
      await rejects(firstMessage(f.t, "", `Bearer ${generateToken("VERIFIER")}`), Code.Unauthenticated, "an unknown verifier token");
      await rejects(firstMessage(f.t, "", `Bearer ${callers.disabled}`), Code.Unauthenticated, "a disabled token");
    });

    it("answers PERMISSION_DENIED to all-access, ingestion, read-write and shared tokens, and serves operators", async () => {
      for (const [label, token] of [
        ["all-access", a.adminToken],
        ["ingestion", callers.ingestion],
        ["read-write", callers.readWrite],
        ["shared", callers.shared],
      ] as const) {
        await rejects(firstMessage(f.t, "", `Bearer ${token}`), Code.PermissionDenied, label);
      }
      assert.equal((await firstMessage(f.t, "", `Bearer ${f.inst.operatorToken}`)).item.case, "checkpoint", "an operator");
    });
  });
});

/**
 * UpdateToken with an update mask, in memory: description and expiry. A changed expiry — earlier,
 * later, or none — holds from the very next Verify (warm caches included) and is announced as
 * UPDATED; the new expiry is announced again (EXPIRED) when it passes. Permissions, kind, name and
 * the rest are refused by path, and an empty mask still means the description alone.
 */
import assert from "node:assert/strict";
import { timestampDate, timestampFromMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { EndpointClass, Role, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { RevocationReason, VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { useInMemoryTessera } from "../helpers/in-memory.js";
import { issue } from "../helpers/seed.js";
import { sleep } from "../helpers/wait.js";
import {
  adminDemotedTo,
  assertNoHint,
  expectStatus,
  itRefusesBadCallers,
  record,
  rejects,
  unknownId,
  useTwoOrganizations,
} from "./support.js";

describe("UpdateToken with an update mask, in memory", () => {
  const f = useInMemoryTessera();
  const x = useTwoOrganizations(f);
  const get = x.get;
  const verify = (credential: string, endpoint = EndpointClass.INGEST) =>
    f.t.c.verify.verify({ credential, endpoint }, f.inst.verifierToken);
  /** Twice, the second from the warm cache; returns the answer's expiry in ms (undefined: none). */
  const verifyWarm = async (credential: string, status: VerifyStatus, what: string, endpoint = EndpointClass.INGEST) => {
    let expiry: number | undefined;
    for (let i = 0; i < 2; i++) {
      const r = await verify(credential, endpoint);
      expectStatus(r, status, what);
      expiry = r.expireTime === undefined ? undefined : timestampDate(r.expireTime).getTime();
    }
    return expiry;
  };
  const ms = (t: Timestamp | undefined) => (t === undefined ? undefined : timestampDate(t).getTime());
  const setExpiry = (id: string, at: number | undefined, token = x.a.adminToken) =>
    f.t.c.admin.updateToken(
      { id, updateMask: { paths: ["expire_time"] }, ...(at !== undefined && { expireTime: timestampFromMs(at) }) },
      token,
    );
  const hour = 3_600_000;

  describe("paths", () => {
    it("changes only what the mask names, and an empty mask means the description alone, as before", async () => {
      const t = await issue(f.t.c, x.a.adminToken, { kind: TokenKind.INGESTION, description: "first" });
      const later = Date.now() + hour;
      const expiryOnly = await f.t.c.admin.updateToken(
        { id: t.id, description: "ignored", updateMask: { paths: ["expire_time"] }, expireTime: timestampFromMs(later) },
        x.a.adminToken,
      );
      assert.equal(expiryOnly.token!.description, "first", "not in the mask");
      assert.equal(ms(expiryOnly.token!.expireTime), later);
      const noMask = await f.t.c.admin.updateToken(
        { id: t.id, description: "second", expireTime: timestampFromMs(later + hour) },
        x.a.adminToken,
      );
      assert.equal(noMask.token!.description, "second");
      assert.equal(ms(noMask.token!.expireTime), later, "an empty mask leaves the expiry alone");
      const both = await f.t.c.admin.updateToken(
        { id: t.id, description: "third", updateMask: { paths: ["description", "expire_time", "description"] } },
        x.a.adminToken,
      );
      assert.equal(both.token!.description, "third");
      assert.equal(both.token!.expireTime, undefined, "the path without a value clears the expiry");
      expectStatus(await verify(t.value), VerifyStatus.VALID, "still valid");
    });

    it("answers INVALID_ARGUMENT for paths that cannot change, unknown and malformed ones, and the wildcard", async () => {
      for (const [label, path, pattern] of [
        ["permissions", "permissions", /"permissions" cannot be changed \(permissions are fixed when a token is created/],
        ["the kind", "kind", /"kind" cannot be changed/],
        ["enabled", "enabled", /use SetTokenEnabled/],
        ["the name", "name", /"name" cannot be changed; update_mask may name description, expire_time/],
        ["an unknown path", "colour", /"colour" is not a field of Token/],
        ["a camelCase path", "expireTime", /malformed path/],
        ["the wildcard", "*", /not supported/],
      ] as const) {
        const err = await rejects(
          f.t.c.admin.updateToken({ id: x.a.defaultTokenId, description: "x", updateMask: { paths: [path] } }, x.a.adminToken),
          Code.InvalidArgument,
          label,
        );
        assert.match(err.rawMessage, pattern, label);
      }
      assert.notEqual((await f.t.c.admin.getToken({ id: x.a.defaultTokenId }, x.a.adminToken)).token!.description, "x");
    });

    it("answers INVALID_ARGUMENT for an expiry now or in the past, and for clearing a SHARED token's expiry", async () => {
      const t = await issue(f.t.c, x.a.adminToken, { kind: TokenKind.INGESTION });
      for (const [label, at] of [
        ["in the past", Date.now() - 60_000],
        ["long ago", 0],
        ["now", Date.now()],
      ] as const) {
        const err = await rejects(setExpiry(t.id, at), Code.InvalidArgument, label);
        assert.match(err.rawMessage, /expire_time must be in the future/);
      }
      const shared = await issue(f.t.c, x.a.adminToken, {
        kind: TokenKind.SHARED,
        permissions: { dashboards: ["d"] },
        expireTime: timestampFromMs(Date.now() + hour),
      });
      const err = await rejects(setExpiry(shared.id, undefined), Code.InvalidArgument, "a SHARED token without expiry");
      assert.match(err.rawMessage, /SHARED tokens must keep an expiry/);
      const later = Date.now() + 2 * hour;
      assert.equal(ms((await setExpiry(shared.id, later)).token!.expireTime), later, "a SHARED token's expiry may move");
      assert.equal((await f.t.c.admin.getToken({ id: t.id }, x.a.adminToken)).token!.expireTime, undefined, "unchanged");
    });
  });

  describe("expiry", () => {
    it("shortened, holds from the very next Verify, is announced as UPDATED, then as EXPIRED when it passes", async () => {
      const t = await issue(f.t.c, x.a.adminToken, { kind: TokenKind.INGESTION, expireTime: timestampFromMs(Date.now() + hour) });
      await verifyWarm(t.value, VerifyStatus.VALID, "before");
      const rec = record(f.t, `Bearer ${f.inst.verifierToken}`);
      await rec.until((r) => r.items.some((i) => i.kind === "checkpoint"), "the first checkpoint");

      const soon = Date.now() + 1500;
      await setExpiry(t.id, soon);
      assert.equal(await verifyWarm(t.value, VerifyStatus.VALID, "shortened, not yet passed"), soon, "Verify answers with the new expiry");
      await rec.until((r) => r.events().some((e) => e.tokenId === t.id && e.reason === RevocationReason.UPDATED), "UPDATED");
      await sleep(soon - Date.now() + 50);
      await verifyWarm(t.value, VerifyStatus.EXPIRED, "after the new expiry");
      await rec.until((r) => r.events().some((e) => e.tokenId === t.id && e.reason === RevocationReason.EXPIRED), "EXPIRED");
      rec.stop();
    });

    it("lengthened or cleared, holds from the very next Verify, an expired token's included, and the new expiry is announced when it passes", async () => {
      const t = await issue(f.t.c, x.a.adminToken, { kind: TokenKind.INGESTION, expireTime: timestampFromMs(Date.now() + 1000) });
      const rec = record(f.t, `Bearer ${f.inst.verifierToken}`);
      await rec.until((r) => r.items.some((i) => i.kind === "checkpoint"), "the first checkpoint");
      await sleep(1100);
      await verifyWarm(t.value, VerifyStatus.EXPIRED, "expired");
      await rec.until((r) => r.events().some((e) => e.tokenId === t.id && e.reason === RevocationReason.EXPIRED), "the first EXPIRED");

      const later = Date.now() + hour;
      await setExpiry(t.id, later);
      assert.equal(await verifyWarm(t.value, VerifyStatus.VALID, "given a later expiry"), later);
      await setExpiry(t.id, undefined);
      assert.equal(await verifyWarm(t.value, VerifyStatus.VALID, "expiry cleared"), undefined, "no expiry any more");
      const updates = () => rec.events().filter((e) => e.tokenId === t.id && e.reason === RevocationReason.UPDATED).length;
      await rec.until(() => updates() >= 2, "UPDATED twice");

      // Announced once per expiry: the one set now is announced again when it passes.
      const soon = Date.now() + 1000;
      await setExpiry(t.id, soon);
      await sleep(soon - Date.now() + 50);
      await verifyWarm(t.value, VerifyStatus.EXPIRED, "expired again");
      await rec.until(
        (r) => r.events().filter((e) => e.tokenId === t.id && e.reason === RevocationReason.EXPIRED).length >= 2,
        "the second EXPIRED",
      );
      rec.stop();
    });

    it("set again to the same time, announces nothing", async () => {
      const at = Date.now() + hour;
      const t = await issue(f.t.c, x.a.adminToken, { kind: TokenKind.INGESTION, expireTime: timestampFromMs(at) });
      const rec = record(f.t, `Bearer ${f.inst.verifierToken}`);
      await setExpiry(t.id, at);
      await f.t.c.admin.setTokenEnabled({ id: t.id, enabled: false }, x.a.adminToken);
      await rec.until((r) => r.events().some((e) => e.tokenId === t.id && e.reason === RevocationReason.DISABLED), "a later event");
      assert.ok(
        !rec.events().some((e) => e.tokenId === t.id && e.reason === RevocationReason.UPDATED),
        "no UPDATED for an unchanged expiry",
      );
      rec.stop();
    });

    it("of the caller's own admin token, takes effect on its next call", async () => {
      const own = await adminDemotedTo(f.t.c, x.a.adminToken, x.a.orgId, Role.ADMIN);
      const soon = Date.now() + 1000;
      await setExpiry(own.tokenId, soon, own.token);
      assert.equal(ms((await f.t.c.admin.getCaller({}, own.token)).caller!.expireTime), soon);
      await sleep(soon - Date.now() + 50);
      await rejects(f.t.c.admin.listTokens({}, own.token), Code.Unauthenticated, "after its new expiry");
    });
  });

  describe("who may", () => {
    it("lets a parent's admin and an operator change a sub-organization's token", async () => {
      const at = Date.now() + hour;
      assert.equal(ms((await setExpiry(x.child.defaultTokenId, at)).token!.expireTime), at);
      assert.equal((await setExpiry(x.child.defaultTokenId, undefined, f.inst.operatorToken)).token!.expireTime, undefined);
    });

    it("answers NOT_FOUND for another organization's token, the parent's, a closed child's and an unknown one, changing nothing", async () => {
      const bExtra = await issue(f.t.c, x.b.adminToken, { kind: TokenKind.INGESTION });
      for (const [label, id, token] of [
        ["another organization's token", bExtra.id, x.a.adminToken],
        ["the parent's token, from the child", x.a.defaultTokenId, x.child.adminToken],
        ["a closed child's token", x.closedChild.defaultTokenId, x.a.adminToken],
        ["an unknown id", unknownId(), x.a.adminToken],
      ] as const) {
        const err = await rejects(setExpiry(id, Date.now() + 60_000, token), Code.NotFound, label);
        assertNoHint(err, [x.b.orgId, x.b.identifier, bExtra.id], label);
      }
      assert.equal((await f.t.c.admin.getToken({ id: bExtra.id }, x.b.adminToken)).token!.expireTime, undefined);
      expectStatus(await verify(bExtra.value), VerifyStatus.VALID, "B's token");
    });

    it("answers PERMISSION_DENIED to an EDITOR or VIEWER", async () => {
      for (const role of [Role.EDITOR, Role.VIEWER]) {
        const demoted = await adminDemotedTo(f.t.c, x.a.adminToken, x.a.orgId, role);
        await rejects(setExpiry(x.a.defaultTokenId, Date.now() + 60_000, demoted.token), Code.PermissionDenied, Role[role]);
      }
      assert.equal((await f.t.c.admin.getToken({ id: x.a.defaultTokenId }, x.a.adminToken)).token!.expireTime, undefined);
    });

    itRefusesBadCallers("UpdateToken with a mask", get, (c, token) =>
      c.admin.updateToken(
        { id: x.a.defaultTokenId, updateMask: { paths: ["expire_time"] }, expireTime: timestampFromMs(Date.now() + hour) },
        token,
      ),
    );
  });
});

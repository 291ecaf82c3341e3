/**
 * DeleteBucket in memory. A bucket that tokens name stays unless `force`; with it, each token
 * loses the bucket and is refused for it on the very next Verify, warm caches included, and one
 * left with no bucket is deleted rather than widened to every bucket. Each change is announced.
 */
import assert from "node:assert/strict";
import { Code } from "@connectrpc/connect";
import { EndpointClass, Role, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { RevocationReason, VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { useInMemoryTessera } from "../helpers/in-memory.js";
import { addMember, createOrg, issue } from "../helpers/seed.js";
import {
  adminDemotedTo,
  assertNoHint,
  expectStatus,
  itRefusesBadCallers,
  record,
  rejects,
  tag,
  unknownId,
  useTwoOrganizations,
} from "./support.js";

describe("DeleteBucket, in memory", () => {
  const f = useInMemoryTessera();
  const x = useTwoOrganizations(f);
  const get = x.get;
  let editor: string;
  const verify = (credential: string, endpoint: EndpointClass, bucket: string) =>
    f.t.c.verify.verify({ credential, endpoint, bucket }, f.inst.verifierToken);
  /** Twice: the second answer comes from the warm cache. */
  const verifyWarm = async (credential: string, endpoint: EndpointClass, bucket: string, status: VerifyStatus, what: string) => {
    for (let i = 0; i < 2; i++) expectStatus(await verify(credential, endpoint, bucket), status, what);
  };
  const bucket = async (orgId = x.a.orgId, token = x.a.adminToken) => {
    const name = `b-${tag()}`;
    await f.t.c.admin.createBucket({ organizationId: orgId, name }, token);
    return name;
  };
  const bucketNames = async (organizationId = "", token = x.a.adminToken) =>
    (await f.t.c.admin.listBuckets({ organizationId }, token)).buckets.map((b) => b.name);

  before(async () => {
    editor = await addMember(f.t.c, x.a.adminToken, x.a.orgId, Role.EDITOR);
  });

  it("deletes a bucket no token names, which may then be created again", async () => {
    const name = await bucket();
    const r = await f.t.c.admin.deleteBucket({ name }, x.a.adminToken);
    assert.deepEqual([r.narrowedTokenIds, r.deletedTokenIds], [[], []]);
    assert.ok(!(await bucketNames()).includes(name));
    await f.t.c.admin.createBucket({ name }, x.a.adminToken);
    assert.ok((await bucketNames()).includes(name));
  });

  it("answers FAILED_PRECONDITION while tokens name the bucket, saying how many and that force exists, and changes nothing", async () => {
    const name = await bucket();
    const ing = await issue(f.t.c, x.a.adminToken, { kind: TokenKind.INGESTION, permissions: { buckets: [name] } });
    const rw = await issue(f.t.c, x.a.adminToken, {
      kind: TokenKind.READ_WRITE,
      userId: editor,
      permissions: { bucketAccess: [{ bucket: name, read: true, write: true }] },
    });
    // Disabled tokens count too: enabled again, they would name a bucket that is gone.
    await f.t.c.admin.setTokenEnabled({ id: rw.id, enabled: false }, x.a.adminToken);
    const err = await rejects(f.t.c.admin.deleteBucket({ name }, x.a.adminToken), Code.FailedPrecondition, "named by two tokens");
    assert.match(err.rawMessage, /2 tokens name bucket/);
    assert.match(err.rawMessage, /force/);
    assert.ok((await bucketNames()).includes(name), "the bucket is still there");
    expectStatus(await verify(ing.value, EndpointClass.INGEST, name), VerifyStatus.VALID, "the ingestion token still writes it");
  });

  it("with force, narrows an ingestion token's buckets, refused for that bucket on the very next Verify and announced as UPDATED", async () => {
    const [gone, kept] = [await bucket(), await bucket()];
    const t = await issue(f.t.c, x.a.adminToken, { kind: TokenKind.INGESTION, permissions: { buckets: [gone, kept] } });
    await verifyWarm(t.value, EndpointClass.INGEST, gone, VerifyStatus.VALID, "before");
    const rec = record(f.t, `Bearer ${f.inst.verifierToken}`);
    await rec.until((r) => r.items.some((i) => i.kind === "checkpoint"), "the first checkpoint");

    const r = await f.t.c.admin.deleteBucket({ name: gone, force: true }, x.a.adminToken);
    assert.deepEqual(r.narrowedTokenIds, [t.id]);
    assert.deepEqual(r.deletedTokenIds, []);

    await verifyWarm(t.value, EndpointClass.INGEST, gone, VerifyStatus.FORBIDDEN, "the deleted bucket");
    await verifyWarm(t.value, EndpointClass.INGEST, kept, VerifyStatus.VALID, "the other bucket");
    const stored = (await f.t.c.admin.getToken({ id: t.id }, x.a.adminToken)).token!;
    assert.deepEqual(stored.permissions!.buckets, [kept]);
    await rec.until((rr) => rr.events().some((e) => e.tokenId === t.id && e.reason === RevocationReason.UPDATED), "UPDATED for the token");
    rec.stop();
  });

  it("with force, deletes an ingestion token whose only bucket it was, rather than let it write to every bucket", async () => {
    const [gone, other] = [await bucket(), await bucket()];
    const t = await issue(f.t.c, x.a.adminToken, { kind: TokenKind.INGESTION, permissions: { buckets: [gone] } });
    await verifyWarm(t.value, EndpointClass.INGEST, gone, VerifyStatus.VALID, "before");
    const rec = record(f.t, `Bearer ${f.inst.verifierToken}`);
    await rec.until((r) => r.items.some((i) => i.kind === "checkpoint"), "the first checkpoint");

    const r = await f.t.c.admin.deleteBucket({ name: gone, force: true }, x.a.adminToken);
    assert.deepEqual(r.deletedTokenIds, [t.id]);

    await verifyWarm(t.value, EndpointClass.INGEST, gone, VerifyStatus.NOT_FOUND, "the deleted bucket");
    await verifyWarm(t.value, EndpointClass.INGEST, other, VerifyStatus.NOT_FOUND, "any other bucket: never widened");
    await verifyWarm(t.value, EndpointClass.INGEST, "", VerifyStatus.NOT_FOUND, "no bucket");
    await rejects(f.t.c.admin.getToken({ id: t.id }, x.a.adminToken), Code.NotFound, "its metadata");
    await rec.until((rr) => rr.events().some((e) => e.tokenId === t.id && e.reason === RevocationReason.DELETED), "DELETED for the token");
    rec.stop();
  });

  it("with force, narrows a read-write token's grants, and deletes one whose last grant it was", async () => {
    const [gone, kept] = [await bucket(), await bucket()];
    const both = await issue(f.t.c, x.a.adminToken, {
      kind: TokenKind.READ_WRITE,
      userId: editor,
      permissions: {
        bucketAccess: [
          { bucket: gone, read: true, write: true },
          { bucket: kept, read: true },
        ],
      },
    });
    const only = await issue(f.t.c, x.a.adminToken, {
      kind: TokenKind.READ_WRITE,
      userId: editor,
      permissions: { bucketAccess: [{ bucket: gone, write: true }] },
    });
    await verifyWarm(both.value, EndpointClass.QUERY, gone, VerifyStatus.VALID, "both, before");
    await verifyWarm(only.value, EndpointClass.INGEST, gone, VerifyStatus.VALID, "only, before");
    const unrelated = await issue(f.t.c, x.a.adminToken, { kind: TokenKind.INGESTION, permissions: { buckets: [kept] } });

    const r = await f.t.c.admin.deleteBucket({ name: gone, force: true }, x.a.adminToken);
    assert.deepEqual(r.narrowedTokenIds, [both.id]);
    assert.deepEqual(r.deletedTokenIds, [only.id]);

    await verifyWarm(both.value, EndpointClass.QUERY, gone, VerifyStatus.FORBIDDEN, "both, the deleted bucket (read)");
    await verifyWarm(both.value, EndpointClass.INGEST, gone, VerifyStatus.FORBIDDEN, "both, the deleted bucket (write)");
    await verifyWarm(both.value, EndpointClass.QUERY, kept, VerifyStatus.VALID, "both, the other bucket");
    await verifyWarm(only.value, EndpointClass.INGEST, gone, VerifyStatus.NOT_FOUND, "only: deleted");
    const stored = (await f.t.c.admin.getToken({ id: both.id }, x.a.adminToken)).token!;
    assert.deepEqual(
      stored.permissions!.bucketAccess.map((g) => [g.bucket, g.read, g.write]),
      [[kept, true, false]],
    );
    expectStatus(await verify(unrelated.value, EndpointClass.INGEST, kept), VerifyStatus.VALID, "a token naming another bucket");
    assert.deepEqual((await f.t.c.admin.getToken({ id: unrelated.id }, x.a.adminToken)).token!.permissions!.buckets, [kept]);
  });

  it("leaves another organization's bucket of the same name, and its tokens, alone", async () => {
    const name = `same-${tag()}`;
    await f.t.c.admin.createBucket({ name }, x.a.adminToken);
    await f.t.c.admin.createBucket({ name }, x.b.adminToken);
    const bToken = await issue(f.t.c, x.b.adminToken, { kind: TokenKind.INGESTION, permissions: { buckets: [name] } });
    const r = await f.t.c.admin.deleteBucket({ name, force: true }, x.a.adminToken);
    assert.deepEqual([r.narrowedTokenIds, r.deletedTokenIds], [[], []]);
    assert.ok((await bucketNames("", x.b.adminToken)).includes(name));
    expectStatus(await verify(bToken.value, EndpointClass.INGEST, name), VerifyStatus.VALID, "B's token");
  });

  it("lets a parent's admin and an operator delete a sub-organization's bucket", async () => {
    const a = await bucket(x.child.orgId, x.child.adminToken);
    const b = await bucket(x.child.orgId, x.child.adminToken);
    await f.t.c.admin.deleteBucket({ organizationId: x.child.orgId, name: a }, x.a.adminToken);
    await f.t.c.admin.deleteBucket({ organizationId: x.child.orgId, name: b }, f.inst.operatorToken);
    const left = await bucketNames("", x.child.adminToken);
    assert.ok(!left.includes(a) && !left.includes(b));
  });

  it("answers INVALID_ARGUMENT for a missing or malformed name and a malformed organization id", async () => {
    for (const [label, req] of [
      ["no name", { name: "" }],
      ["upper case", { name: "Logs" }],
      ["a space", { name: "my logs" }],
      ["64 characters", { name: "a".repeat(64) }],
      ["an organization id that is not a UUID", { name: "logs", organizationId: "acme" }],
    ] as const) {
      await rejects(f.t.c.admin.deleteBucket(req, x.a.adminToken), Code.InvalidArgument, label);
    }
  });

  it("answers NOT_FOUND for a bucket that does not exist, and in another organization, the caller's parent, a closed child or an unknown one", async () => {
    const bBucket = await bucket(x.b.orgId, x.b.adminToken);
    const parentBucket = await bucket();
    const closedBucket = await bucket(x.closedChild.orgId, x.closedChild.adminToken);
    for (const [label, req, token] of [
      ["a name no bucket has", { name: `none-${tag()}` }, x.a.adminToken],
      ["B's bucket, by name, in A", { name: bBucket }, x.a.adminToken],
      ["another organization", { organizationId: x.b.orgId, name: bBucket }, x.a.adminToken],
      ["the caller's parent", { organizationId: x.a.orgId, name: parentBucket }, x.child.adminToken],
      ["a child denying parent access", { organizationId: x.closedChild.orgId, name: closedBucket }, x.a.adminToken],
      ["an unknown organization, as an operator", { organizationId: unknownId(), name: "logs" }, f.inst.operatorToken],
    ] as const) {
      const err = await rejects(f.t.c.admin.deleteBucket({ ...req, force: true }, token), Code.NotFound, label);
      assertNoHint(err, [x.b.orgId, x.b.identifier, x.closedChild.identifier], label);
    }
    assert.ok((await bucketNames("", x.b.adminToken)).includes(bBucket));
    assert.ok((await bucketNames()).includes(parentBucket));
    assert.ok((await bucketNames("", x.closedChild.adminToken)).includes(closedBucket));
  });

  it("answers PERMISSION_DENIED to an EDITOR or VIEWER, and the bucket stays", async () => {
    const name = await bucket();
    for (const role of [Role.EDITOR, Role.VIEWER]) {
      const demoted = await adminDemotedTo(f.t.c, x.a.adminToken, x.a.orgId, role);
      await rejects(f.t.c.admin.deleteBucket({ name, force: true }, demoted.token), Code.PermissionDenied, Role[role]);
    }
    assert.ok((await bucketNames()).includes(name));
  });

  it("keeps a token from naming a bucket deleted while it was being created", async () => {
    // Many creations racing one deletion: whichever order they commit in, no token survives
    // naming the deleted bucket (each either failed, or was taken care of by the deletion).
    const o = await createOrg(f.t.c, f.inst.operatorToken);
    const name = `race-${tag()}`;
    await f.t.c.admin.createBucket({ name }, o.adminToken);
    const creations = Array.from({ length: 8 }, () =>
      issue(f.t.c, o.adminToken, { kind: TokenKind.INGESTION, permissions: { buckets: [name] } }).then(
        (t) => t.id,
        (err: unknown) => err,
      ),
    );
    const deletion = f.t.c.admin.deleteBucket({ name, force: true }, o.adminToken);
    const [made, d] = await Promise.all([Promise.all(creations), deletion]);
    const tokens = (await f.t.c.admin.listTokens({}, o.adminToken)).tokens;
    assert.ok(
      tokens.every((t) => !t.permissions!.buckets.includes(name)),
      "a token names the deleted bucket",
    );
    for (const m of made) {
      if (typeof m === "string") assert.ok(d.deletedTokenIds.includes(m), "a token created before the deletion was ended by it");
      else assert.match(String(m), /does not exist/, "a creation after the deletion was refused");
    }
  });

  itRefusesBadCallers("DeleteBucket", get, (c, token) => c.admin.deleteBucket({ name: `none-${tag()}` }, token));
});

/**
 * Setup in memory: the one RPC without credentials. Its fields are checked before anything else,
 * it works exactly once (FAILED_PRECONDITION afterwards, and for all but one of concurrent
 * calls), and a credential it does not need is still checked if sent.
 */
import assert from "node:assert/strict";
import { Code } from "@connectrpc/connect";
import { EndpointClass, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import type { SetupResponse } from "../../src/gen/tessera/v1/token_admin_service_pb.js";
import { VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { generateToken } from "../../src/domain/token-format.js";
import { superQuery } from "../helpers/db.js";
import { startInMemoryTessera, useInMemoryTessera } from "../helpers/in-memory.js";
import { assertNoSecret, flipOne, json, maskOf } from "../service/support.js";
import { expectStatus, rejects } from "./support.js";

const valid = { userName: "root", organizationIdentifier: "acme", organizationName: "Acme Inc.", bucketName: "main" };

/** Requests with one bad field each, and the field the message must name. */
const BAD_FIELDS: Array<[string, Partial<typeof valid> & { tokenValue?: string }, RegExp]> = [
  ["no user name", { userName: "" }, /user_name/],
  ["a user name with a space", { userName: "the root" }, /user name/],
  ["no organization identifier", { organizationIdentifier: "" }, /organization_identifier/],
  ["an upper-case organization identifier", { organizationIdentifier: "Acme" }, /organization identifier/],
  ["no bucket name", { bucketName: "" }, /bucket_name/],
  ["a bucket name with a slash", { bucketName: "a/b" }, /bucket name/],
  ["a newline in the organization name", { organizationName: "Acme\nInc." }, /organization_name/],
  ["a NUL in the user name", { userName: "ro\u0000ot" }, /user_name/],
  ["a token value that is not a token", { tokenValue: "hunter2" }, /operator token/],
  ["a token value with a wrong checksum", { tokenValue: flipOne(generateToken("OPERATOR")) }, /operator token/],
  ["a token value of another kind", { tokenValue: generateToken("ALL_ACCESS") }, /operator token/],
];

describe("Setup, in memory", () => {
  const f = useInMemoryTessera({ setup: false });
  const setupRows = async () => Number((await superQuery<{ n: string }>(f.t.db, "SELECT count(*) AS n FROM instance_setup"))[0]!.n);

  describe("on an instance not yet set up", () => {
    it("answers INVALID_ARGUMENT for each missing or malformed field, naming it, and sets nothing up", async () => {
      for (const [label, bad, field] of BAD_FIELDS) {
        const err = await rejects(f.t.c.admin.setup({ ...valid, ...bad }), Code.InvalidArgument, label);
        assert.match(err.rawMessage, field, `${label}: the message names the field`);
      }
      assert.equal(await setupRows(), 0, "still not set up");
    });

    it("answers UNAUTHENTICATED when the call carries credentials that are not valid, though it needs none", async () => {
      await rejects(f.t.c.admin.setup(valid, generateToken("OPERATOR")), Code.Unauthenticated, "an unknown operator token");
      await rejects(f.t.raw.admin.setup(valid, "Digest abc"), Code.Unauthenticated, "an unsupported scheme");
      assert.equal(await setupRows(), 0, "still not set up");
    });
  });

  describe("once it has run", () => {
    const supplied = generateToken("OPERATOR");
    let s: SetupResponse;
    before(async () => {
      s = await f.t.c.admin.setup({ ...valid, tokenValue: supplied });
    });

    it("has created the root user, the organization, its bucket and an operator token with the supplied value", () => {
      assert.equal(s.user!.name, "root");
      assert.equal(s.user!.root, true);
      assert.equal(s.organization!.identifier, "acme");
      assert.equal(s.organization!.name, "Acme Inc.");
      assert.equal(s.organization!.parentId, "");
      assert.equal(s.organization!.enabled, true);
      assert.equal(s.bucket!.name, "main");
      assert.equal(s.bucket!.organizationId, s.organization!.id);
      assert.equal(s.token!.kind, TokenKind.OPERATOR);
      assert.equal(s.token!.ownerUserId, s.user!.id);
      assert.equal(s.token!.organizationId, s.organization!.id);
      assert.equal(s.tokenValue, supplied);
      assert.equal(s.token!.maskedValue, maskOf(supplied));
      assertNoSecret(json(s.token), supplied, "the token metadata");
    });

    it("has handed back an operator token that works on both services", async () => {
      const orgs = await f.t.c.admin.listOrganizations({}, s.tokenValue);
      assert.deepEqual(
        orgs.organizations.map((o) => o.id),
        [s.organization!.id],
      );
      const buckets = await f.t.c.admin.listBuckets({}, s.tokenValue);
      assert.deepEqual(
        buckets.buckets.map((b) => b.name),
        ["main"],
      );
      const v = await f.t.c.verify.verify({ credential: s.tokenValue, endpoint: EndpointClass.ADMIN }, s.tokenValue);
      expectStatus(v, VerifyStatus.VALID, "the operator token, verified by itself");
      assert.equal(v.principal!.kind, TokenKind.OPERATOR);
    });

    it("has given the organization its default ingestion token, listed first", async () => {
      const list = await f.t.c.admin.listTokens({}, s.tokenValue);
      assert.equal(list.tokens[0]!.name, "default");
      assert.equal(list.tokens[0]!.kind, TokenKind.INGESTION);
      assert.equal(list.tokens[0]!.createdBy, s.user!.id);
      assert.ok(list.tokens.some((t) => t.id === s.token!.id));
      const pass = await f.t.c.admin.getPasscode({}, s.tokenValue);
      assert.equal(pass.organizationIdentifier, "acme");
    });

    it("answers FAILED_PRECONDITION to every later Setup, with or without credentials, changing nothing", async () => {
      for (const [label, req, token] of [
        ["the same request", { ...valid, tokenValue: supplied }, undefined],
        ["other names", { userName: "root2", organizationIdentifier: "other", bucketName: "other" }, undefined],
        ["with the operator token", { userName: "root3", organizationIdentifier: "third", bucketName: "third" }, s.tokenValue],
      ] as const) {
        const err = await rejects(f.t.c.admin.setup(req, token), Code.FailedPrecondition, label);
        assert.match(err.rawMessage, /already set up/);
      }
      const orgs = await f.t.c.admin.listOrganizations({}, s.tokenValue);
      assert.deepEqual(
        orgs.organizations.map((o) => o.identifier),
        ["acme"],
        "no other organization appeared",
      );
    });

    it("still answers INVALID_ARGUMENT for malformed fields: they are checked first", async () => {
      for (const [label, bad] of BAD_FIELDS) await rejects(f.t.c.admin.setup({ ...valid, ...bad }), Code.InvalidArgument, label);
    });
  });

  it("lets exactly one of several concurrent Setups succeed, generating its operator token", async () => {
    const t = await startInMemoryTessera();
    try {
      const results = await Promise.allSettled(
        Array.from({ length: 5 }, (_, i) =>
          t.c.admin.setup({ userName: `root-${i}`, organizationIdentifier: `org-${i}`, bucketName: "main" }),
        ),
      );
      const won = results.filter((r): r is PromiseFulfilledResult<SetupResponse> => r.status === "fulfilled");
      assert.equal(won.length, 1, "exactly one Setup succeeds");
      for (const r of results) {
        if (r.status === "rejected") await rejects(Promise.reject(r.reason), Code.FailedPrecondition, "a losing Setup");
      }
      const winner = won[0]!.value;
      assert.match(winner.tokenValue, /^tsop_[0-9A-Za-z]{38}$/, "a generated operator token");
      const orgs = await t.c.admin.listOrganizations({}, winner.tokenValue);
      assert.deepEqual(
        orgs.organizations.map((o) => o.id),
        [winner.organization!.id],
        "only the winner's organization exists",
      );
    } finally {
      await t.close();
    }
  });
});

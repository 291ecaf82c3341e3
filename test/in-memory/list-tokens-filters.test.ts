/**
 * ListTokens' filters in memory: enabled and name prefix beside kind and owner, combined, paged,
 * and page tokens bound to them. A name prefix is plain text: `_` and `%` match themselves, never
 * as LIKE wildcards. A page token presented with other filters or for another organization is
 * INVALID_ARGUMENT; page_size may change from one page to the next.
 */
import assert from "node:assert/strict";
import { Code } from "@connectrpc/connect";
import { Role, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { useInMemoryTessera } from "../helpers/in-memory.js";
import { addMember, createOrg, issue, type SeededOrg } from "../helpers/seed.js";
import { json } from "../service/support.js";
import { rejects, tag, useTwoOrganizations } from "./support.js";

describe("ListTokens filters, in memory", () => {
  const f = useInMemoryTessera();
  const x = useTwoOrganizations(f);
  let o: SeededOrg;
  const ids: Record<string, string> = {};
  let owner: string;

  before(async () => {
    o = await createOrg(f.t.c, f.inst.operatorToken);
    await f.t.c.admin.createBucket({ name: "logs" }, o.adminToken);
    owner = await addMember(f.t.c, o.adminToken, o.orgId, Role.EDITOR);
    for (const name of ["alpha-1", "alpha_2", "alphaX", "alpha_3", "beta", "ALPHA-4"]) {
      ids[name] = (await issue(f.t.c, o.adminToken, { kind: TokenKind.INGESTION, name })).id;
    }
    ids["alpha_rw"] = (
      await issue(f.t.c, o.adminToken, {
        kind: TokenKind.READ_WRITE,
        name: "alpha_rw",
        userId: owner,
        permissions: { bucketAccess: [{ bucket: "logs", read: true }] },
      })
    ).id;
    for (const name of ["alpha_2", "beta"]) await f.t.c.admin.setTokenEnabled({ id: ids[name]!, enabled: false }, o.adminToken);
    // Another organization's token whose name every prefix below would match.
    await issue(f.t.c, x.b.adminToken, { kind: TokenKind.INGESTION, name: "alpha_b" });
  });

  /** The filters of a ListTokens request. */
  type Filters = { organizationId?: string; kind?: TokenKind; ownerUserId?: string; enabled?: boolean; namePrefix?: string };
  const names = async (req: Filters, token = o.adminToken) => {
    const out: string[] = [];
    let pageToken = "";
    do {
      const r = await f.t.c.admin.listTokens({ ...req, pageToken }, token);
      out.push(...r.tokens.map((t) => t.name));
      pageToken = r.nextPageToken;
    } while (pageToken !== "");
    return out;
  };

  it("filters by enabled: true, false, or unset for both", async () => {
    const all = await names({});
    const on = await names({ enabled: true });
    const off = await names({ enabled: false });
    assert.deepEqual(off, ["alpha_2", "beta"]);
    assert.ok(on.includes("default") && on.includes("alpha-1") && !on.includes("beta"));
    assert.deepEqual([...on, ...off].sort(), [...all].sort(), "together, every token");
  });

  it("filters by name prefix, case-sensitively, with _ and % matching only themselves", async () => {
    assert.deepEqual(await names({ namePrefix: "alpha" }), ["alpha-1", "alpha_2", "alphaX", "alpha_3", "alpha_rw"]);
    assert.deepEqual(await names({ namePrefix: "alpha_" }), ["alpha_2", "alpha_3", "alpha_rw"], "_ is no wildcard");
    assert.deepEqual(await names({ namePrefix: "alpha_r" }), ["alpha_rw"]);
    assert.deepEqual(await names({ namePrefix: "ALPHA" }), ["ALPHA-4"], "case matters");
    assert.deepEqual(await names({ namePrefix: "alpha-1" }), ["alpha-1"], "a whole name is a prefix of itself");
    assert.deepEqual(await names({ namePrefix: "gamma" }), []);
    assert.ok(!json(await f.t.c.admin.listTokens({ namePrefix: "alpha" }, o.adminToken)).includes("alpha_b"), "never B's token");
  });

  it("combines every filter", async () => {
    assert.deepEqual(await names({ namePrefix: "alpha", enabled: true, kind: TokenKind.INGESTION }), ["alpha-1", "alphaX", "alpha_3"]);
    assert.deepEqual(await names({ namePrefix: "alpha", ownerUserId: owner }), ["alpha_rw"]);
    assert.deepEqual(await names({ namePrefix: "alpha", enabled: false, kind: TokenKind.READ_WRITE }), []);
  });

  it("pages through a filtered listing one at a time, page size free to change between pages", async () => {
    const req = { namePrefix: "alpha", enabled: true };
    const whole = await names(req);
    const seen: string[] = [];
    let pageToken = "";
    let size = 1;
    do {
      const r = await f.t.c.admin.listTokens({ ...req, pageSize: size, pageToken }, o.adminToken);
      assert.ok(r.tokens.length <= size);
      seen.push(...r.tokens.map((t) => t.name));
      pageToken = r.nextPageToken;
      size = size === 1 ? 2 : 1;
    } while (pageToken !== "");
    assert.deepEqual(seen, whole);
  });

  it("answers INVALID_ARGUMENT for a page token used with other filters or for another organization", async () => {
    const base = { namePrefix: "alpha", enabled: true, kind: TokenKind.INGESTION };
    const first = await f.t.c.admin.listTokens({ ...base, pageSize: 1 }, o.adminToken);
    assert.notEqual(first.nextPageToken, "");
    const pageToken = first.nextPageToken;
    for (const [label, req, token] of [
      ["another prefix", { ...base, namePrefix: "alph" }, o.adminToken],
      ["no prefix", { ...base, namePrefix: "" }, o.adminToken],
      ["enabled false", { ...base, enabled: false }, o.adminToken],
      ["enabled unset", { namePrefix: "alpha", kind: TokenKind.INGESTION }, o.adminToken],
      ["another kind", { ...base, kind: TokenKind.READ_WRITE }, o.adminToken],
      ["an owner", { ...base, ownerUserId: owner }, o.adminToken],
      ["another organization, the caller's own", base, x.a.adminToken],
      ["another organization, named", { ...base, organizationId: f.inst.orgId }, f.inst.operatorToken],
    ] as const) {
      const err = await rejects(f.t.c.admin.listTokens({ ...req, pageToken }, token), Code.InvalidArgument, label);
      assert.match(err.rawMessage, /page_token does not match the request's filters/, label);
    }
    // The same organization named explicitly, by an operator, with the same filters: the same listing.
    const next = await f.t.c.admin.listTokens({ ...base, organizationId: o.orgId, pageToken }, f.inst.operatorToken);
    assert.ok(next.tokens.length > 0);
  });

  it("keeps page tokens from before the binding working for the filters of that release, and refuses them with the new ones", async () => {
    const all = (await f.t.c.admin.listTokens({}, o.adminToken)).tokens;
    const second = all[1]!;
    // What the previous release issued: position only. The default token is first (0:seq).
    const legacy = Buffer.from(JSON.stringify({ k: "t", p: `0:${9_000_000_000}` })).toString("base64url");
    const after = await f.t.c.admin.listTokens({ pageToken: legacy }, o.adminToken);
    assert.equal(after.tokens[0]!.id, second.id, "continues after the default token");
    await f.t.c.admin.listTokens({ pageToken: legacy, kind: TokenKind.INGESTION }, o.adminToken);
    for (const req of [{ enabled: true }, { namePrefix: "alpha" }]) {
      await rejects(f.t.c.admin.listTokens({ ...req, pageToken: legacy }, o.adminToken), Code.InvalidArgument, json(req));
    }
  });

  it("answers INVALID_ARGUMENT for a name prefix no token name could start with", async () => {
    for (const [label, namePrefix] of [
      ["a space", "alpha beta"],
      ["a percent sign", "alpha%"],
      ["a backslash", "alpha\\"],
      ["a dot", "a.b"],
      ["257 characters", "a".repeat(257)],
      ["a NUL", "a\u0000"],
      ["non-ASCII", "älpha"],
    ] as const) {
      const err = await rejects(f.t.c.admin.listTokens({ namePrefix }, o.adminToken), Code.InvalidArgument, label);
      assert.match(err.rawMessage, /name_prefix/, label);
    }
    assert.deepEqual(await names({ namePrefix: "a".repeat(256) }), [], "256 characters is a valid prefix");
  });

  it("lets a parent's admin filter a sub-organization's tokens", async () => {
    const n = `kid-${tag()}`;
    await issue(f.t.c, x.child.adminToken, { kind: TokenKind.INGESTION, name: n });
    assert.deepEqual(await names({ organizationId: x.child.orgId, namePrefix: "kid-" }, x.a.adminToken), [n]);
  });
});

/**
 * Envoy's ext_authz Check on the gRPC port, called the way Envoy calls it: allowed requests go
 * upstream with the identity headers set and the credential removed, refused ones are answered
 * with Tessera's status, challenge and JSON body, revocations apply on the very next Check, and
 * the gateway's own mistakes are RPC errors naming what to fix.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as grpc from "@grpc/grpc-js";
import { promisify } from "node:util";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Signal, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { Authorization } from "../../src/gen/envoy/service/auth/v3/external_auth_pb.js";
import { generateToken } from "../../src/domain/token-format.js";
import { createGrpcClient } from "../../src/wire/grpc-client.js";
import { useSetUpServer } from "../helpers/fixture.js";
import { createOrg, issue, type IssuedToken, type SeededOrg } from "../helpers/seed.js";
import { checkRequest, denial, extAuthzClient, okHeaders, removed, type ExtAuthz, type Forwarded } from "./support.js";

const run = promisify(execFile);
const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

describe("Envoy ext_authz Check", function () {
  this.timeout(60_000);
  const f = useSetUpServer();
  let envoy: ExtAuthz;
  let a: SeededOrg;
  let b: SeededOrg;
  /** An ingestion token of org a for logs only, in any bucket. */
  let logs: IssuedToken;
  /** An ingestion token of org a for any signal, bucket "web" only. */
  let web: IssuedToken;

  before(async () => {
    envoy = extAuthzClient(f.server.tessera.grpcPort, f.inst.verifierToken);
    a = await createOrg(f.c, f.inst.operatorToken);
    b = await createOrg(f.c, f.inst.operatorToken);
    await f.c.admin.createBucket({ name: "web" }, a.adminToken);
    logs = await issue(f.c, a.adminToken, { kind: TokenKind.INGESTION, permissions: { signals: [Signal.LOGS] } });
    web = await issue(f.c, a.adminToken, { kind: TokenKind.INGESTION, permissions: { buckets: ["web"] } });
  });
  after(() => envoy?.close());

  describe("an allowed request", () => {
    it("goes upstream with the identity headers set, the credential and stray x-tessera-* headers removed, and the principal in dynamic metadata", async () => {
      const r = await envoy.check({
        path: "/v1/logs?compress=gzip",
        // The client tries to pass itself off as someone else, and as a user with a role.
        headers: { Authorization: `Bearer ${logs.value}`, "X-Tessera-Organization": "someone-else", "x-tessera-role": "ADMIN" },
      });
      const set = okHeaders(r);
      assert.deepEqual(Object.fromEntries(set), {
        "x-tessera-organization-id": a.orgId,
        "x-tessera-organization": a.identifier,
        "x-tessera-token-id": logs.id,
        "x-tessera-token-kind": "INGESTION",
      });
      assert.equal(r.httpResponse.case === "okResponse" && r.httpResponse.value.headers.every((h) => h.appendAction === 2), true);
      assert.deepEqual(removed(r).sort(), ["authorization", "x-tessera-role"]);
      assert.deepEqual(r.dynamicMetadata, {
        organization_id: a.orgId,
        organization: a.identifier,
        token_id: logs.id,
        token_kind: "INGESTION",
        token_name: r.dynamicMetadata?.["token_name"],
        signal: "LOGS",
        route: "otlp-http-logs",
      });
      assert.match(String(r.dynamicMetadata?.["token_name"]), /^tok-/);
    });

    it("takes the credential from x-api-key, Token and Basic as well, and removes the header it came in", async () => {
      const viaKey = await envoy.check({ path: "/loki/api/v1/push", headers: { "x-api-key": logs.value } });
      assert.equal(okHeaders(viaKey).get("x-tessera-token-id"), logs.id);
      assert.deepEqual(removed(viaKey), ["x-api-key"]);
      const viaToken = await envoy.check({ path: "/loki/api/v1/push", headers: { authorization: `Token ${logs.value}` } });
      assert.equal(okHeaders(viaToken).get("x-tessera-token-id"), logs.id);
      const viaBasic = await envoy.check({
        path: `/api/${a.identifier}/web/_json`,
        headers: { authorization: `Basic ${b64(`${a.identifier}:${web.value}`)}` },
      });
      assert.equal(okHeaders(viaBasic).get("x-tessera-token-id"), web.id);
    });

    it("accepts the same token in authorization and x-api-key, and removes both", async () => {
      const r = await envoy.check({ path: "/v1/logs", headers: { authorization: `Bearer ${logs.value}`, "x-api-key": logs.value } });
      assert.equal(okHeaders(r).get("x-tessera-token-id"), logs.id);
      assert.deepEqual(removed(r).sort(), ["authorization", "x-api-key"]);
    });

    it("accepts an imported value holding commas as the one credential it is", async () => {
      const value = `k9,Vq3#Lz8pR2,xW7!mN4tB6yH1,jD5sF0gA-${Date.now()}`;
      const t = await f.c.admin.createToken({ name: `imported-${Date.now()}`, kind: TokenKind.INGESTION, value }, a.adminToken);
      const r = await envoy.check({ path: "/v1/logs", headers: { "x-api-key": value } });
      assert.equal(okHeaders(r).get("x-tessera-token-id"), t.token!.id);
      const bearer = await envoy.check({ path: "/v1/logs", headers: { authorization: `Bearer ${value}` } });
      assert.equal(okHeaders(bearer).get("x-tessera-token-id"), t.token!.id);
    });

    it("sets x-tessera-role for a user-bound token", async () => {
      const r = await envoy.check({ path: "/v1/metrics", headers: { authorization: `Bearer ${a.adminToken}` } });
      const set = okHeaders(r);
      assert.equal(set.get("x-tessera-role"), "ADMIN");
      assert.equal(set.get("x-tessera-token-kind"), "ALL_ACCESS");
      assert.equal(r.dynamicMetadata?.["role"], "ADMIN");
      assert.equal(r.dynamicMetadata?.["owner_user_id"], a.adminUserId);
    });

    it("reads raw headers (encode_raw_headers), one entry per header line", async () => {
      const r = await envoy.check({
        path: "/v1/logs",
        headerMap: [
          [":path", "/v1/logs"],
          ["authorization", `Bearer ${logs.value}`],
        ],
      });
      assert.equal(okHeaders(r).get("x-tessera-token-id"), logs.id);
    });

    it("is served on the HTTP port too, for an Envoy pointed there", async () => {
      const c = createClient(Authorization, createGrpcTransport({ baseUrl: `http://127.0.0.1:${f.server.tessera.httpPort}` }));
      const r = await c.check(checkRequest({ path: "/v1/logs", headers: { authorization: `Bearer ${logs.value}` } }), {
        headers: { authorization: `Bearer ${f.inst.verifierToken}` },
      });
      assert.equal(okHeaders(r).get("x-tessera-token-id"), logs.id);
    });
  });

  describe("a refused request", () => {
    it("a disabled token: 401 with a challenge and a JSON body, on the very next Check after SetTokenEnabled", async () => {
      const t = await issue(f.c, a.adminToken, { kind: TokenKind.INGESTION });
      const req = { path: "/v1/traces", headers: { authorization: `Bearer ${t.value}` } };
      okHeaders(await envoy.check(req));
      okHeaders(await envoy.check(req)); // from the cache now
      await f.c.admin.setTokenEnabled({ id: t.id, enabled: false }, a.adminToken);
      const d = denial(await envoy.check(req));
      assert.equal(d.http, 401);
      assert.equal(d.grpc, Code.Unauthenticated);
      assert.equal(d.headers.get("www-authenticate"), 'Bearer realm="tessera"');
      assert.equal(d.headers.get("content-type"), "application/json");
      assert.equal(d.body.status, "DISABLED");
      await f.c.admin.setTokenEnabled({ id: t.id, enabled: true }, a.adminToken);
      okHeaders(await envoy.check(req));
    });

    it("a signal the token does not grant: 403 FORBIDDEN", async () => {
      const d = denial(await envoy.check({ path: "/v1/metrics", headers: { authorization: `Bearer ${logs.value}` } }));
      assert.equal(d.http, 403);
      assert.equal(d.grpc, Code.PermissionDenied);
      assert.equal(d.body.status, "FORBIDDEN");
      assert.equal(d.headers.has("www-authenticate"), false);
    });

    it("a bucket the token does not grant: 403 FORBIDDEN; its own bucket passes", async () => {
      assert.equal(denial(await envoy.check({ path: "/other/_bulk", headers: { "x-api-key": web.value } })).body.status, "FORBIDDEN");
      assert.equal(denial(await envoy.check({ path: "/_bulk", headers: { "x-api-key": web.value } })).body.status, "FORBIDDEN");
      okHeaders(await envoy.check({ path: "/web/_bulk", headers: { "x-api-key": web.value } }));
    });

    it("an unknown, a malformed and a missing credential: 401", async () => {
      const unknown = denial(await envoy.check({ path: "/v1/logs", headers: { authorization: `Bearer ${generateToken("INGESTION")}` } }));
      assert.deepEqual([unknown.http, unknown.body.status], [401, "NOT_FOUND"]);
      const bad = denial(await envoy.check({ path: "/v1/logs", headers: { authorization: "Bearer o2oi_notatoken" } }));
      assert.deepEqual([bad.http, bad.body.status], [401, "MALFORMED"]);
      const scheme = denial(await envoy.check({ path: "/v1/logs", headers: { authorization: "Digest x" } }));
      assert.deepEqual([scheme.http, scheme.body.status], [401, "MALFORMED"]);
      const none = denial(await envoy.check({ path: "/v1/logs" }));
      assert.deepEqual([none.http, none.body.status], [401, "MISSING_CREDENTIAL"]);
      assert.equal(none.headers.get("www-authenticate"), 'Bearer realm="tessera"');
    });

    it("another organization's token answers exactly like an unknown one", async () => {
      // Org b's request, carrying org a's token: the OpenObserve path names org b.
      const foreign = denial(
        await envoy.check({ path: `/api/${b.identifier}/web/_json`, headers: { authorization: `Bearer ${web.value}` } }),
      );
      const unknown = denial(
        await envoy.check({ path: `/api/${b.identifier}/web/_json`, headers: { authorization: `Bearer ${generateToken("INGESTION")}` } }),
      );
      assert.deepEqual(foreign, unknown);
      assert.equal(foreign.body.status, "NOT_FOUND");
      // A Basic credential naming org b with org a's token, and a Basic organization disagreeing with the path's.
      const basic = denial(
        await envoy.check({ path: "/v1/logs", headers: { authorization: `Basic ${b64(`${b.identifier}:${logs.value}`)}` } }),
      );
      assert.deepEqual(basic, unknown);
      const twoOrgs = denial(
        await envoy.check({
          path: `/api/${b.identifier}/web/_json`,
          headers: { authorization: `Basic ${b64(`${a.identifier}:${web.value}`)}` },
        }),
      );
      assert.deepEqual(twoOrgs, unknown);
    });

    it("several credentials at once: 401, whichever way they come", async () => {
      const other = await issue(f.c, a.adminToken, { kind: TokenKind.INGESTION });
      const cases: Array<Omit<Forwarded, "path">> = [
        // Envoy joins a repeated header's values with a comma.
        { headers: { authorization: `Bearer ${logs.value},Bearer ${other.value}` } },
        { headers: { authorization: `Bearer ${logs.value}`, "x-api-key": other.value } },
        {
          headerMap: [
            ["authorization", `Bearer ${logs.value}`],
            ["authorization", `Bearer ${logs.value}`],
          ],
        },
        {
          headerMap: [
            ["x-api-key", logs.value],
            ["x-api-key", other.value],
          ],
        },
        {
          headers: { "x-upload-key": other.value, authorization: `Bearer ${logs.value}` },
          extensions: { credential_header: "x-upload-key" },
        },
      ];
      for (const c of cases) {
        const d = denial(await envoy.check({ path: "/v1/logs", ...c }));
        assert.deepEqual([d.http, d.body.status], [401, "SEVERAL_CREDENTIALS"], JSON.stringify(c.extensions ?? {}));
        assert.ok(!JSON.stringify(d).includes(logs.value) && !JSON.stringify(d).includes(other.value), "no credential echoed");
      }
    });

    it("a request no route matches, or a crafted path: 403 NO_ROUTE", async () => {
      for (const path of ["/v1/query", "/v1/../v1/logs", "/v1//logs", "/v1/%6cogs%2f", "/api/v2/write?bucket=a&bucket=b"]) {
        const d = denial(await envoy.check({ path, headers: { authorization: `Bearer ${logs.value}` } }));
        assert.deepEqual([d.http, d.body.status], [403, "NO_ROUTE"], path);
      }
      const get = denial(await envoy.check({ method: "GET", path: "/v1/logs", headers: { authorization: `Bearer ${logs.value}` } }));
      assert.deepEqual([get.http, get.body.status], [403, "NO_ROUTE"]);
    });

    it("headers over the size cap: 431", async () => {
      const d = denial(
        await envoy.check({ path: "/v1/logs", headers: { authorization: `Bearer ${logs.value}`, "x-big": "x".repeat(70_000) } }),
      );
      assert.deepEqual([d.http, d.body.status], [431, "HEADERS_TOO_LARGE"]);
    });
  });

  describe("context_extensions", () => {
    it("ask the question themselves: endpoint, signal and bucket, in any letter case, instead of the presets", async () => {
      const r = await envoy.check({
        path: "/anything/at/all",
        headers: { authorization: `Bearer ${web.value}` },
        extensions: { endpoint: "INGEST", signal: "traces", bucket: "web" },
      });
      assert.equal(okHeaders(r).get("x-tessera-token-id"), web.id);
      assert.equal(r.dynamicMetadata?.["route"], undefined);
      const wrongBucket = denial(
        await envoy.check({
          path: "/web/_bulk",
          headers: { authorization: `Bearer ${web.value}` },
          extensions: { endpoint: "ingest", bucket: "other" },
        }),
      );
      assert.equal(wrongBucket.body.status, "FORBIDDEN");
      const wrongEndpoint = denial(
        await envoy.check({ path: "/v1/logs", headers: { authorization: `Bearer ${logs.value}` }, extensions: { endpoint: "query" } }),
      );
      assert.deepEqual([wrongEndpoint.http, wrongEndpoint.body.status], [403, "WRONG_ENDPOINT"]);
    });

    it("may name the header that carries the credential", async () => {
      const r = await envoy.check({
        path: "/v1/logs",
        headers: { "X-Upload-Key": logs.value },
        extensions: { credential_header: "X-Upload-Key" },
      });
      assert.equal(okHeaders(r).get("x-tessera-token-id"), logs.id);
      assert.deepEqual(removed(r), ["x-upload-key"]);
    });

    it("with an unknown value or key: INVALID_ARGUMENT naming the key", async () => {
      const cases: Array<[Record<string, string>, RegExp]> = [
        [{ endpoint: "write" }, /"endpoint" must be one of ingest, query, admin, shared_view/],
        [{ endpoint: "ingest", signal: "profiles" }, /"signal" must be one of logs, metrics, traces/],
        [{ signal: "logs" }, /"endpoint" is required/],
        [{ bucket: "web" }, /"endpoint" is required/],
        [{ endpiont: "ingest" }, /unknown context extension "endpiont"/],
        [{ "weird key!": "x" }, /an unknown context extension/],
        [{ endpoint: "ingest", credential_header: "bad header" }, /"credential_header" must be a header name/],
        [{ endpoint: "ingest", Endpoint: "query" }, /"endpoint" is given twice/],
      ];
      for (const [extensions, re] of cases) {
        await assert.rejects(
          envoy.check({ path: "/v1/logs", headers: { authorization: `Bearer ${logs.value}` }, extensions }),
          (err: unknown) => {
            assert.ok(err instanceof ConnectError);
            assert.equal(err.code, Code.InvalidArgument, JSON.stringify(extensions));
            assert.match(err.rawMessage, re);
            assert.ok(!err.rawMessage.includes(logs.value));
            return true;
          },
        );
      }
    });
  });

  describe("the gateway's own credentials", () => {
    it("are required, and must be a VERIFIER's: UNAUTHENTICATED or PERMISSION_DENIED, before the user's credential is looked at", async () => {
      const req = { path: "/v1/logs", headers: { authorization: `Bearer ${logs.value}` } };
      await assert.rejects(
        envoy.check(req, null),
        (err: ConnectError) => err.code === Code.Unauthenticated && /verifier token/.test(err.rawMessage),
      );
      await assert.rejects(envoy.check(req, "Bearer o2oi_garbage"), (err: ConnectError) => err.code === Code.Unauthenticated);
      await assert.rejects(envoy.check(req, `Bearer ${logs.value}`), (err: ConnectError) => err.code === Code.PermissionDenied);
      okHeaders(await envoy.check(req, `Bearer ${f.inst.operatorToken}`));
    });

    it("a CheckRequest without HTTP attributes (a network filter's) is INVALID_ARGUMENT", async () => {
      const c = createGrpcClient(Authorization, `127.0.0.1:${f.server.tessera.grpcPort}`);
      try {
        await assert.rejects(
          c.check({ attributes: {} }, { metadata: { authorization: `Bearer ${f.inst.verifierToken}` } }),
          (err: ConnectError) => {
            assert.equal(err.code, Code.InvalidArgument);
            assert.match(err.rawMessage, /attributes\.request\.http is required/);
            return true;
          },
        );
      } finally {
        c.close();
      }
    });
  });

  it("speaks Envoy's field numbers: a CheckRequest encoded by hand from Envoy's protos, and the answer read back by number", async () => {
    // envoy/service/auth/v3/external_auth.proto and attribute_context.proto, config/core/v3/base.proto
    // and address.proto, type/v3/http_status.proto, google/rpc/status.proto: numbers copied from there.
    const socket = msg(str(2, "10.0.0.7"), varint(3, 54321)); // SocketAddress.address = 2, port_value = 3
    const source = msg(len(1, msg(len(1, socket)))); // Peer.address = 1 → Address.socket_address = 1
    const httpReq = msg(
      str(2, "POST"), // HttpRequest.method = 2
      entry(3, ":path", "/v1/logs?x=1"), // HttpRequest.headers = 3
      entry(3, "authorization", `Bearer ${logs.value}`),
      str(4, "/v1/logs?x=1"), // HttpRequest.path = 4
      str(5, "ingest.example.com"), // HttpRequest.host = 5
    );
    const attributes = msg(len(1, source), len(4, msg(len(2, httpReq)))); // source = 1, request = 4 → Request.http = 2
    const denyAttributes = msg(
      len(4, msg(len(2, msg(str(2, "POST"), str(4, "/v1/metrics"), entry(3, "authorization", `Bearer ${logs.value}`))))),
    );
    const call = (body: Buffer) =>
      new Promise<Buffer>((resolve, reject) => {
        const client = new grpc.Client(`127.0.0.1:${f.server.tessera.grpcPort}`, grpc.credentials.createInsecure());
        const md = new grpc.Metadata();
        md.set("authorization", `Bearer ${f.inst.verifierToken}`);
        client.makeUnaryRequest(
          "/envoy.service.auth.v3.Authorization/Check",
          (b: Buffer) => b,
          (b: Buffer) => b,
          body,
          md,
          (err, v) => {
            client.close();
            if (err) reject(err);
            else resolve(v!);
          },
        );
      });
    const ok = fields(await call(msg(len(1, attributes)))); // CheckRequest.attributes = 1
    const status = fields(one(ok, 1) as Buffer); // CheckResponse.status = 1
    assert.equal(status.has(1), false, "google.rpc.Status.code = 1 is 0 (OK)");
    assert.equal(ok.has(2), false, "no denied_response");
    const okResponse = fields(one(ok, 3) as Buffer); // CheckResponse.ok_response = 3
    const set = new Map<string, string>();
    for (const option of okResponse.get(2) ?? []) {
      const o = fields(option as Buffer); // HeaderValueOption
      const header = fields(one(o, 1) as Buffer); // .header = 1 → HeaderValue.key = 1, value = 2
      set.set(text(one(header, 1)), text(one(header, 2)));
      assert.equal((one(o, 2) as Buffer).length, 0, "append = 2 holds BoolValue false");
      assert.equal(one(o, 3), 2, "append_action = 3 is OVERWRITE_IF_EXISTS_OR_ADD");
    }
    assert.equal(set.get("x-tessera-token-id"), logs.id);
    assert.deepEqual((okResponse.get(5) ?? []).map(text), ["authorization"]); // OkHttpResponse.headers_to_remove = 5
    const metadata = fields(one(ok, 4) as Buffer); // CheckResponse.dynamic_metadata = 4 → Struct.fields = 1
    const keys = (metadata.get(1) ?? []).map((e) => text(one(fields(e as Buffer), 1)));
    assert.ok(keys.includes("token_id") && keys.includes("organization_id"), keys.join());

    const no = fields(await call(msg(len(1, denyAttributes))));
    assert.equal(one(fields(one(no, 1) as Buffer), 1), 7, "status.code PERMISSION_DENIED");
    const denied = fields(one(no, 2) as Buffer); // CheckResponse.denied_response = 2
    assert.equal(one(fields(one(denied, 1) as Buffer), 1), 403, "DeniedHttpResponse.status = 1 → HttpStatus.code = 1");
    assert.equal(JSON.parse(text(one(denied, 3))).status, "FORBIDDEN", "DeniedHttpResponse.body = 3");
    assert.ok((denied.get(2) ?? []).length > 0, "DeniedHttpResponse.headers = 2");
  });

  it("is listed by server reflection and answers buf curl (JSON, as an operator would try it)", async () => {
    const base = ["buf", "curl", "--protocol", "grpc", "--http2-prior-knowledge"];
    const url = `http://127.0.0.1:${f.server.tessera.grpcPort}`;
    const { stdout: services } = await run("npx", [...base, "--list-services", url]);
    assert.ok(services.trim().split("\n").includes("envoy.service.auth.v3.Authorization"), services);
    const body = JSON.stringify({
      attributes: { request: { http: { method: "POST", path: "/v1/logs", headers: { authorization: `Bearer ${logs.value}` } } } },
    });
    const { stdout } = await run("npx", [
      ...base,
      "-H",
      `authorization: Bearer ${f.inst.verifierToken}`,
      "-d",
      body,
      `${url}/envoy.service.auth.v3.Authorization/Check`,
    ]);
    const res = JSON.parse(stdout) as { status?: { code?: number }; okResponse?: { headersToRemove?: string[] } };
    assert.equal(res.status?.code ?? 0, 0);
    assert.deepEqual(res.okResponse?.headersToRemove, ["authorization"]);
  });
});

// ---- protobuf by hand: just enough to write a CheckRequest and read a CheckResponse by field number

function varintBytes(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}
const msg = (...parts: Buffer[]): Buffer => Buffer.concat(parts);
const varint = (field: number, n: number): Buffer => msg(varintBytes(field * 8), varintBytes(n));
const len = (field: number, bytes: Buffer): Buffer => msg(varintBytes(field * 8 + 2), varintBytes(bytes.length), bytes);
const str = (field: number, s: string): Buffer => len(field, Buffer.from(s, "utf8"));
/** A map<string, string> entry: key = 1, value = 2. */
const entry = (field: number, k: string, v: string): Buffer => len(field, msg(str(1, k), str(2, v)));

/** A message's fields by number: varints as numbers, length-delimited values as bytes. */
function fields(b: Buffer): Map<number, Array<number | Buffer>> {
  const out = new Map<number, Array<number | Buffer>>();
  let i = 0;
  const read = (): number => {
    let n = 0;
    let mul = 1;
    for (;;) {
      const byte = b[i++]!;
      n += (byte & 0x7f) * mul;
      if (byte < 0x80) return n;
      mul *= 128;
    }
  };
  while (i < b.length) {
    const key = read();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    let value: number | Buffer;
    if (wire === 0) value = read();
    else if (wire === 2) {
      const n = read();
      value = b.subarray(i, i + n);
      i += n;
    } else throw new Error(`unexpected wire type ${wire} for field ${field}`);
    const list = out.get(field);
    if (list === undefined) out.set(field, [value]);
    else list.push(value);
  }
  return out;
}
function one(m: Map<number, Array<number | Buffer>>, field: number): number | Buffer {
  const v = m.get(field);
  assert.equal(v?.length, 1, `field ${field} once`);
  return v![0]!;
}
const text = (v: number | Buffer): string => (v as Buffer).toString("utf8");

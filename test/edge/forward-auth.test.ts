/**
 * `/forward-auth` on the HTTP port, called the way nginx (`auth_request`), Caddy (`forward_auth`),
 * Traefik (`ForwardAuth`) and Envoy's HTTP ext_authz call it: the gateway's verifier first, then
 * the end user's credential judged by Verify's decider over the question the query string or the
 * presets ask of the original request.
 */
import assert from "node:assert/strict";
import http2 from "node:http2";
import { Signal, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { generateToken } from "../../src/domain/token-format.js";
import { useSetUpServer } from "../helpers/fixture.js";
import { createOrg, issue, type IssuedToken, type SeededOrg } from "../helpers/seed.js";
import { bodyOf, httpRequest, nginxStyle, type HttpAnswer } from "./support.js";

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

describe("forward-auth", function () {
  this.timeout(60_000);
  const f = useSetUpServer();
  let port: number;
  let a: SeededOrg;
  let b: SeededOrg;
  let logs: IssuedToken;
  let web: IssuedToken;
  let verifier: string;

  before(async () => {
    port = f.server.tessera.httpPort;
    verifier = f.inst.verifierToken;
    a = await createOrg(f.c, f.inst.operatorToken);
    b = await createOrg(f.c, f.inst.operatorToken);
    await f.c.admin.createBucket({ name: "web" }, a.adminToken);
    logs = await issue(f.c, a.adminToken, { kind: TokenKind.INGESTION, permissions: { signals: [Signal.LOGS] } });
    web = await issue(f.c, a.adminToken, { kind: TokenKind.INGESTION, permissions: { buckets: ["web"] } });
  });

  const nginx = (method: string, uri: string, client: Array<[string, string]>, v: string | undefined = verifier) =>
    nginxStyle(port, v, method, uri, client);

  function allowedAs(r: HttpAnswer, t: IssuedToken, org: SeededOrg = a): void {
    assert.equal(r.status, 200, r.body);
    assert.equal(r.headers["x-tessera-organization-id"], org.orgId);
    assert.equal(r.headers["x-tessera-organization"], org.identifier);
    assert.equal(r.headers["x-tessera-token-id"], t.id);
    assert.equal(r.headers["x-tessera-token-kind"], "INGESTION");
    assert.equal(r.headers["x-tessera-role"], "", "present and empty, so a gateway's copy replaces the client's");
    assert.equal(r.body, "");
  }

  function refusedWith(r: HttpAnswer, status: number, name: string): { status: string; message: string } {
    assert.equal(r.status, status, r.body);
    const body = bodyOf(r);
    assert.equal(body.status, name);
    assert.equal(r.headers["x-tessera-token-id"], undefined);
    if (status === 401) assert.equal(r.headers["www-authenticate"], 'Bearer realm="tessera"');
    else assert.equal(r.headers["www-authenticate"], undefined);
    return body;
  }

  describe("the original request", () => {
    it("as nginx sends it (x-original-method, x-original-uri): 200 with the identity headers", async () => {
      const r = await nginx("POST", "/v1/logs", [["authorization", `Bearer ${logs.value}`]]);
      allowedAs(r, logs);
      assert.equal(r.headers["x-envoy-auth-headers-to-remove"], "authorization");
      assert.equal(r.headers["cache-control"], "no-store");
    });

    it("as Caddy and Traefik send it (x-forwarded-method, x-forwarded-uri, x-forwarded-host), with any method of their own", async () => {
      for (const method of ["GET", "POST"]) {
        const r = await httpRequest(
          port,
          "/forward-auth",
          [
            ["x-tessera-verifier", verifier],
            ["x-forwarded-method", "PUT"],
            ["x-forwarded-uri", "/web/_bulk?refresh=false"],
            ["x-forwarded-host", "es.example.com"],
            ["x-api-key", web.value],
          ],
          method,
        );
        allowedAs(r, web);
        assert.equal(r.headers["x-envoy-auth-headers-to-remove"], "x-api-key");
      }
    });

    it("as Envoy's HTTP ext_authz sends it (the original path below /forward-auth, the original method)", async () => {
      allowedAs(
        await httpRequest(
          port,
          "/forward-auth/loki/api/v1/push",
          [
            ["x-tessera-verifier", verifier],
            ["authorization", `Token ${logs.value}`],
          ],
          "POST",
        ),
        logs,
      );
      refusedWith(
        await httpRequest(
          port,
          "/forward-auth/loki/api/v1/push",
          [
            ["x-tessera-verifier", verifier],
            ["authorization", `Token ${logs.value}`],
          ],
          "GET",
        ),
        403,
        "NO_ROUTE",
      );
    });

    it("with Basic org:token, as InfluxDB and OpenObserve clients send it", async () => {
      const cred: [string, string] = ["authorization", `Basic ${b64(`${a.identifier}:${web.value}`)}`];
      allowedAs(await nginx("POST", `/api/v2/write?org=${a.identifier}&bucket=web`, [cred]), web);
      allowedAs(await nginx("POST", `/api/${a.identifier}/web/_multi`, [cred]), web);
    });

    it("told in two ways at once, or not at all, is refused rather than guessed at", async () => {
      // A client behind Caddy adds nginx's header (or the other way round): which one did the gateway set?
      const both = await httpRequest(port, "/forward-auth", [
        ["x-tessera-verifier", verifier],
        ["x-forwarded-method", "POST"],
        ["x-forwarded-uri", "/v1/logs"],
        ["x-original-uri", "/v1/traces"],
        ["authorization", `Bearer ${logs.value}`],
      ]);
      refusedWith(both, 403, "NO_ROUTE");
      const twice = await httpRequest(port, "/forward-auth", [
        ["x-tessera-verifier", verifier],
        ["x-original-method", "POST"],
        ["x-original-uri", "/v1/logs"],
        ["x-original-uri", "/v1/traces"],
        ["authorization", `Bearer ${logs.value}`],
      ]);
      refusedWith(twice, 403, "NO_ROUTE");
      const none = await httpRequest(port, "/forward-auth", [
        ["x-tessera-verifier", verifier],
        ["authorization", `Bearer ${logs.value}`],
      ]);
      assert.match(refusedWith(none, 403, "NO_ROUTE").message, /no original request/);
    });

    it("that no route matches, or that is crafted to look like another path: 403 NO_ROUTE", async () => {
      for (const uri of ["/v1/query", "/v1/%2e%2e/v1/logs", "/v1//logs", "/api/v2/write?bucket=web&bucket=other", "v1/logs"]) {
        refusedWith(await nginx("POST", uri, [["authorization", `Bearer ${logs.value}`]]), 403, "NO_ROUTE");
      }
    });
  });

  describe("the question in the query string", () => {
    it("asks instead of the presets, in any letter case", async () => {
      const r = await httpRequest(port, "/forward-auth?endpoint=INGEST&signal=Logs", [
        ["x-tessera-verifier", verifier],
        ["x-api-key", logs.value],
      ]);
      allowedAs(r, logs);
      const bucket = await httpRequest(port, "/forward-auth?endpoint=ingest&bucket=other", [
        ["x-tessera-verifier", verifier],
        ["x-api-key", web.value],
      ]);
      refusedWith(bucket, 403, "FORBIDDEN");
      const wrong = await httpRequest(port, "/forward-auth?endpoint=query", [
        ["x-tessera-verifier", verifier],
        ["x-api-key", logs.value],
      ]);
      refusedWith(wrong, 403, "WRONG_ENDPOINT");
    });

    it("with an unknown value, an unknown parameter or one given twice: 400 naming the parameter", async () => {
      const cases: Array<[string, RegExp]> = [
        ["endpoint=write", /"endpoint" must be one of/],
        ["endpoint=ingest&signal=profiles", /"signal" must be one of/],
        ["signal=logs", /"endpoint" is required/],
        ["endpoint=ingest&bucktet=web", /unknown query parameter "bucktet"/],
        ["endpoint=ingest&endpoint=query", /"endpoint" is given more than once/],
        ["endpoint=ingest&Endpoint=query", /"endpoint" is given more than once/],
        ["endpoint=%zz", /malformed percent escape/],
      ];
      for (const [query, re] of cases) {
        const r = await httpRequest(port, `/forward-auth?${query}`, [
          ["x-tessera-verifier", verifier],
          ["x-api-key", logs.value],
        ]);
        assert.match(refusedWith(r, 400, "INVALID_ARGUMENT").message, re, query);
      }
    });
  });

  describe("the gateway's verifier", () => {
    it("missing, unknown, of the wrong kind or given twice: 401, the same whatever the user's credential", async () => {
      const users: Array<Array<[string, string]>> = [
        [["authorization", `Bearer ${logs.value}`]],
        [["authorization", `Bearer ${generateToken("INGESTION")}`]],
        [["authorization", "Bearer o2oi_bad"]],
        [],
      ];
      const verifiers: Array<Array<[string, string]>> = [
        [],
        [["x-tessera-verifier", ""]],
        [["x-tessera-verifier", generateToken("VERIFIER")]],
        [["x-tessera-verifier", "not a token at all"]],
        [["x-tessera-verifier", logs.value]],
        [
          ["x-tessera-verifier", verifier],
          ["x-tessera-verifier", verifier],
        ],
      ];
      for (const v of verifiers) {
        const answers = await Promise.all(
          users.map((u) => httpRequest(port, "/forward-auth", [...v, ["x-original-method", "POST"], ["x-original-uri", "/v1/logs"], ...u])),
        );
        for (const r of answers) refusedWith(r, 401, "VERIFIER_REFUSED");
        assert.equal(
          new Set(answers.map((r) => r.body)).size,
          1,
          `one answer for every user credential with ${JSON.stringify(v.map(([k]) => k))}`,
        );
        assert.match(bodyOf(answers[0]!).message, /x-tessera-verifier/);
      }
      allowedAs(await nginx("POST", "/v1/logs", [["authorization", `Bearer ${logs.value}`]], `Bearer ${verifier}`), logs);
      allowedAs(await nginx("POST", "/v1/logs", [["authorization", `Bearer ${logs.value}`]], f.inst.operatorToken), logs);
    });
  });

  describe("the user's credential", () => {
    it("disabled: 401 on the very next request after SetTokenEnabled", async () => {
      const t = await issue(f.c, a.adminToken, { kind: TokenKind.INGESTION });
      const ask = () => nginx("POST", "/v1/metrics", [["authorization", `Bearer ${t.value}`]]);
      allowedAs(await ask(), t);
      allowedAs(await ask(), t);
      await f.c.admin.setTokenEnabled({ id: t.id, enabled: false }, a.adminToken);
      refusedWith(await ask(), 401, "DISABLED");
    });

    it("for a signal it does not grant: 403 FORBIDDEN", async () => {
      refusedWith(await nginx("POST", "/v1/traces", [["authorization", `Bearer ${logs.value}`]]), 403, "FORBIDDEN");
    });

    it("unknown, malformed or missing: 401", async () => {
      refusedWith(await nginx("POST", "/v1/logs", [["authorization", `Bearer ${generateToken("INGESTION")}`]]), 401, "NOT_FOUND");
      refusedWith(await nginx("POST", "/v1/logs", [["x-api-key", "o2oi_short"]]), 401, "MALFORMED");
      refusedWith(await nginx("POST", "/v1/logs", []), 401, "MISSING_CREDENTIAL");
    });

    it("of another organization: 401 exactly like an unknown token", async () => {
      const foreign = await nginx("POST", `/api/${b.identifier}/web/_json`, [["authorization", `Bearer ${web.value}`]]);
      const unknown = await nginx("POST", `/api/${b.identifier}/web/_json`, [["authorization", `Bearer ${generateToken("INGESTION")}`]]);
      refusedWith(foreign, 401, "NOT_FOUND");
      assert.equal(foreign.body, unknown.body);
      assert.equal(foreign.headers["www-authenticate"], unknown.headers["www-authenticate"]);
    });

    it("several at once: 401 SEVERAL_CREDENTIALS", async () => {
      const other = await issue(f.c, a.adminToken, { kind: TokenKind.INGESTION });
      const cases: Array<Array<[string, string]>> = [
        [
          ["authorization", `Bearer ${logs.value}`],
          ["authorization", `Bearer ${logs.value}`],
        ],
        [
          ["authorization", `Bearer ${logs.value}`],
          ["x-api-key", other.value],
        ],
        [
          ["x-api-key", logs.value],
          ["x-api-key", other.value],
        ],
      ];
      for (const c of cases) refusedWith(await nginx("POST", "/v1/logs", c), 401, "SEVERAL_CREDENTIALS");
      allowedAs(
        await nginx("POST", "/v1/logs", [
          ["authorization", `Bearer ${logs.value}`],
          ["x-api-key", logs.value],
        ]),
        logs,
      );
    });
  });

  describe("limits and metrics", () => {
    it("refuses headers over the size cap cleanly: 431 over HTTP/1.1; over HTTP/2 the stream is refused and the server goes on", async () => {
      const big = await nginx("POST", "/v1/logs", [
        ["authorization", `Bearer ${logs.value}`],
        ["x-big", "x".repeat(20_000)],
      ]);
      assert.equal(big.status, 431);
      const ask = (pad: number) =>
        new Promise<number | string>((resolve) => {
          const session = http2.connect(`http://127.0.0.1:${port}`);
          const headers: http2.OutgoingHttpHeaders = {
            ":path": "/forward-auth",
            "x-tessera-verifier": verifier,
            "x-original-method": "POST",
            "x-original-uri": "/v1/logs",
            authorization: `Bearer ${logs.value}`,
          };
          for (let i = 0; i < pad; i++) headers[`x-pad-${i}`] = "y".repeat(4000);
          const s = session.request(headers);
          const done = (v: number | string) => {
            session.close();
            resolve(v);
          };
          s.on("response", (h) => done(Number(h[":status"])));
          s.on("error", (err: NodeJS.ErrnoException) => done(err.code ?? "error"));
          s.resume();
          s.end();
        });
      // Node's HTTP/2 server refuses a header list over its own limit (64 KiB) before Tessera sees it.
      const over = await ask(20);
      assert.ok(over === 431 || over === "ERR_HTTP2_STREAM_ERROR", `over the cap: ${over}`);
      assert.equal(await ask(0), 200, "the server still answers");
    });

    it("counts its decisions in /metrics by status", async () => {
      const r = await httpRequest(port, "/metrics", []);
      assert.match(r.body, /tessera_edge_decisions_total\{edge="forward_auth",status="VALID"\} [1-9]/);
      assert.match(r.body, /tessera_edge_decisions_total\{edge="forward_auth",status="VERIFIER_REFUSED"\} [1-9]/);
      assert.match(r.body, /tessera_edge_decisions_total\{edge="forward_auth",status="DISABLED"\} [1-9]/);
    });
  });
});

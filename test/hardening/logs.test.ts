/**
 * The server's real logger (pino, src/log.ts) on a captured stream: every token value that
 * crosses the server, good or bad, through every way in (Setup with a supplied value, admin
 * calls, CreateToken with a brought value, RotateToken, Verify, forward-auth, ext_authz Check),
 * is searched for in the whole log and never found; a normal shutdown logs nothing at warn or
 * above; admin changes are logged with ids. The logger alone: levels, fields and redaction.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { EndpointClass, Signal, TokenKind, Role } from "../../src/gen/tessera/v1/resources_pb.js";
import { generateToken } from "../../src/domain/token-format.js";
import { createLog, humanLine, levelOf } from "../../src/log.js";
import { loadConfig, ConfigError, type LogLevel } from "../../src/config.js";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { TokenAdminService } from "../../src/gen/tessera/v1/token_admin_service_pb.js";
import { createGrpcClient } from "../../src/wire/grpc-client.js";
import { allClients } from "../helpers/clients.js";
import { superQuery } from "../helpers/db.js";
import { startTestServer } from "../helpers/server.js";
import { extAuthzClient, nginxStyle } from "../edge/support.js";

interface Line {
  level: number;
  time: string;
  msg: string;
  event: string;
  [k: string]: unknown;
}

function capture(level: LogLevel = "trace") {
  const raw: string[] = [];
  const log = createLog({ level, destination: { write: (s: string) => void raw.push(s) } });
  return { log, raw, lines: (): Line[] => raw.map((l) => JSON.parse(l) as Line) };
}

describe("logs", function () {
  this.timeout(120_000);

  describe("the logger", () => {
    it("writes one JSON object per event with level, time, msg and event, at the event's level", () => {
      const c = capture("trace");
      c.log("token_created", { tokenId: "t1", orgId: "o1" });
      c.log("audit_write_failed", { error: "boom" });
      c.log("rpc_unavailable_started", { rpc: "/x/Y", code: "UNAVAILABLE" });
      c.log("token_exists", { tokenId: "t1" });
      for (const l of c.raw) assert.match(l, /^\{.*\}\n$/);
      const [a, b, u, d] = c.lines();
      assert.deepEqual([a!.level, b!.level, u!.level, d!.level], [30, 50, 40, 20]);
      assert.equal(a!.msg, "token_created");
      assert.equal(a!.event, "token_created");
      assert.equal(a!.tokenId, "t1");
      assert.ok(!Number.isNaN(Date.parse(a!.time)), a!.time);
    });

    it("derives levels from event names, and a field cannot replace the event", () => {
      assert.equal(levelOf("serving"), "info");
      assert.equal(levelOf("revocation_read_failed"), "error");
      assert.equal(levelOf("tessera_watch_crashed"), "error");
      assert.equal(levelOf("shutdown_error"), "warn");
      const c = capture();
      c.log("serving", { event: "other", msg: "other" });
      assert.equal(c.lines()[0]!.event, "serving");
    });

    it("writes nothing below its level, and nothing at all when silent", () => {
      const warn = capture("warn");
      warn.log("serving");
      warn.log("token_exists");
      warn.log("rpc_unavailable_started");
      assert.deepEqual(
        warn.lines().map((l) => l.event),
        ["rpc_unavailable_started"],
      );
      const silent = capture("silent");
      silent.log("audit_write_failed");
      assert.equal(silent.raw.length, 0);
    });

    it("redacts credential-bearing keys at the top, one level down and in headers", () => {
      const c = capture();
      c.log("anything", {
        authorization: "Bearer s1",
        token: "s2",
        value: "s3",
        password: "s4",
        secret: "s5",
        credential: "s6",
        request: { authorization: "s7", token: "s8" },
        headers: { authorization: "s9", cookie: "s10" },
        call: { headers: { authorization: "s11" } },
        tokenId: "kept",
      });
      const line = c.raw.join("");
      for (let i = 1; i <= 11; i++) assert.doesNotMatch(line, new RegExp(`"s${i}"|Bearer s`), line);
      assert.match(line, /"tokenId":"kept"/);
      assert.match(line, /\[redacted\]/);
    });
  });

  it("shows a terminal one short line per event, from the redacted JSON", () => {
    const c = capture();
    c.log("rpc_unavailable_started", { rpc: "/tessera.v1.TokenVerifyService/Verify", code: "UNAVAILABLE", token: "s1", n: { a: 1 } });
    const line = humanLine(c.raw[0]!);
    assert.match(
      line,
      /^\d\d:\d\d:\d\d\.\d{3} WARN {2}rpc_unavailable_started rpc=\/tessera\.v1\.TokenVerifyService\/Verify code=UNAVAILABLE token=\[redacted\] n=\{"a":1\}\n$/,
    );
    assert.doesNotMatch(line, /s1|pid=|event=/);
  });

  describe("TESSERA_LOG_LEVEL", () => {
    it("defaults to info, takes every pino level and refuses anything else", () => {
      assert.equal(loadConfig({}, {}).logLevel, "info");
      for (const l of ["trace", "debug", "info", "warn", "error", "fatal", "silent"]) {
        assert.equal(loadConfig({}, { TESSERA_LOG_LEVEL: l }).logLevel, l);
      }
      assert.throws(
        () => loadConfig({}, { TESSERA_LOG_LEVEL: "verbose" }),
        (e: unknown) => {
          assert.ok(e instanceof ConfigError);
          assert.match(e.message, /TESSERA_LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent, got "verbose"/);
          return true;
        },
      );
    });
  });

  describe("a server's whole log", () => {
    it("never contains a token value that crossed it, good or bad, on any path", async () => {
      const c = capture("trace");
      const server = await startTestServer({ options: { log: c.log } });
      const values: string[] = [];
      const clients = allClients({ grpcPort: server.tessera.grpcPort, httpPort: server.tessera.httpPort });
      const envoy = { close: () => undefined } as { close(): void };
      let shopId = "";
      try {
        const [g] = clients;
        const operator = generateToken("OPERATOR");
        values.push(operator);
        const s = await g!.admin.setup({ userName: "root", organizationIdentifier: "acme", bucketName: "main", tokenValue: operator });
        assert.equal(s.tokenValue, operator);
        const verifier = (await g!.admin.createToken({ name: "fleet", kind: TokenKind.VERIFIER }, operator)).value;
        const o = await g!.admin.createOrganization({ identifier: "shop" }, operator);
        values.push(verifier, o.defaultTokenValue);
        const orgId = o.organization!.id;
        shopId = orgId;
        const u = await g!.admin.createUser({ name: "shop-admin", organizationId: orgId, role: Role.ADMIN }, operator);
        const admin = (
          await g!.admin.createToken({ organizationId: orgId, name: "admin", kind: TokenKind.ALL_ACCESS, userId: u.user!.id }, operator)
        ).value;
        const brought = `imported-${randomBytes(24).toString("base64url")}`;
        const imported = await g!.admin.createToken(
          { organizationId: orgId, name: "imported", kind: TokenKind.INGESTION, value: brought },
          admin,
        );
        const rotated = await g!.admin.rotateToken({ id: imported.token!.id }, admin);
        values.push(admin, brought, rotated.value);
        const unknown = generateToken("ALL_ACCESS");
        const garbage = "not-a-token-but-secret-looking-zzzz9";
        values.push(unknown, garbage);

        for (const cl of clients) {
          // Admin calls with a good token, an unknown one and garbage.
          await cl.admin.listTokens({ organizationId: orgId }, admin);
          await assert.rejects(cl.admin.listTokens({ organizationId: orgId }, unknown));
          await assert.rejects(cl.admin.listTokens({ organizationId: orgId }, garbage));
          // Verify: good, rotated-away, unknown and garbage credentials; a bad verifier.
          for (const credential of [o.defaultTokenValue, rotated.value, brought, unknown, garbage]) {
            await cl.verify.verify({ credential, organization: "shop", endpoint: EndpointClass.INGEST, signal: Signal.LOGS }, verifier);
          }
          await assert.rejects(cl.verify.verify({ credential: rotated.value, endpoint: EndpointClass.INGEST }, unknown));
        }
        // Forward-auth, as nginx calls it: the client's credential in several headers.
        for (const credential of [o.defaultTokenValue, unknown, garbage]) {
          for (const v of [verifier, unknown, undefined]) {
            await nginxStyle(server.tessera.httpPort, v, "POST", "/v1/logs", [
              ["authorization", `Bearer ${credential}`],
              ["x-scope-orgid", "shop"],
            ]);
          }
          await nginxStyle(server.tessera.httpPort, verifier, "POST", "/loki/api/v1/push", [
            ["authorization", `Basic ${Buffer.from(`shop:${credential}`).toString("base64")}`],
          ]);
        }
        // ext_authz Check, as Envoy sends it, with a good and a bad verifier.
        for (const v of [verifier, unknown]) {
          const e = extAuthzClient(server.tessera.grpcPort, v);
          envoy.close = () => e.close();
          for (const credential of [o.defaultTokenValue, unknown, garbage]) {
            await e.check({ path: "/v1/logs", headers: { authorization: `Bearer ${credential}` } }).catch(() => undefined);
          }
          e.close();
        }
        // Admin changes are logged, with ids.
        await g!.admin.removeMembership({ userId: u.user!.id, organizationId: orgId }, operator);
      } finally {
        envoy.close();
        for (const cl of clients) cl.close();
        await server.close();
      }
      const whole = c.raw.join("");
      assert.ok(c.raw.length > 5, whole);
      for (const v of values) {
        assert.ok(!whole.includes(v), `a token value is in the log: ${v.slice(0, 6)}…`);
        // Nor its secret part alone (everything after the prefix).
        assert.ok(!whole.includes(v.slice(5)), `a token's secret is in the log: ${v.slice(0, 6)}…`);
      }
      const events = new Set(c.lines().map((l) => l.event));
      for (const e of ["setup_completed", "organization_created", "user_created", "token_created", "token_rotated", "membership_removed"]) {
        assert.ok(events.has(e), `${e} in ${[...events].join(", ")}`);
      }
      const created = c.lines().find((l) => l.event === "organization_created")!;
      assert.equal(created.level, 30);
      assert.equal(typeof created.orgId, "string");
      // Every call has its line, with the usual fields, on both listeners; the refused ones too.
      const calls = c.lines().filter((l) => ["rpc_finished", "rpc_refused", "rpc_denied", "data_rpc_finished"].includes(l.event));
      const listed = calls.filter((l) => l.rpc === "/tessera.v1.TokenAdminService/ListTokens");
      assert.equal(listed.length, 3 * clients.length, "one line per ListTokens call");
      assert.equal(listed.filter((l) => l.code === "OK" && l.organization === shopId && l.level === 30).length, clients.length);
      assert.equal(
        listed.filter((l) => l.code === "UNAUTHENTICATED" && l.event === "rpc_denied" && l.level === 40).length,
        2 * clients.length,
      );
      const verifies = calls.filter((l) => l.rpc === "/tessera.v1.TokenVerifyService/Verify");
      assert.equal(verifies.length, 6 * clients.length, "one line per Verify call, at debug");
      assert.ok(verifies.every((l) => l.level === 20 && l.event === "data_rpc_finished"));
      for (const l of calls) {
        assert.match(String(l.requestId), /^[A-Za-z0-9._:-]{1,64}$/, JSON.stringify(l));
        assert.ok(typeof l.durationMs === "number" && l.durationMs >= 0 && l.durationMs < 60_000, JSON.stringify(l));
      }
      assert.ok(
        calls.some((l) => l.rpc === "/envoy.service.auth.v3.Authorization/Check"),
        "ext_authz Check has its line",
      );
    });

    it("logs each admin call at info with the caller's request id, the one the audit trail records", async () => {
      const c = capture("info");
      const server = await startTestServer({ options: { log: c.log } });
      const grpc = createGrpcClient(TokenAdminService, `127.0.0.1:${server.tessera.grpcPort}`);
      const connect = createClient(
        TokenAdminService,
        createConnectTransport({ baseUrl: `http://127.0.0.1:${server.tessera.httpPort}`, httpVersion: "1.1" }),
      );
      const [g] = allClients({ grpcPort: server.tessera.grpcPort, httpPort: server.tessera.httpPort });
      try {
        const s = await g!.admin.setup({ userName: "root", organizationIdentifier: "acme", bucketName: "main" });
        const bearer = `Bearer ${s.tokenValue}`;
        await grpc.createOrganization({ identifier: "kept" }, { metadata: { authorization: bearer, "x-request-id": "req-42.a" } });
        await connect.createOrganization({ identifier: "renamed" }, { headers: { authorization: bearer, "x-request-id": "not ok <id>" } });
        await g!.verify.verify({ credential: s.tokenValue, endpoint: EndpointClass.INGEST }, s.tokenValue).catch(() => undefined);
        const lines = c.lines().filter((l) => l.rpc === "/tessera.v1.TokenAdminService/CreateOrganization");
        assert.equal(lines.length, 2, c.raw.join(""));
        const [kept, renamed] = lines;
        assert.equal(kept!.event, "rpc_finished");
        assert.equal(kept!.level, 30);
        assert.equal(kept!.requestId, "req-42.a");
        assert.equal(kept!.code, "OK");
        assert.equal(kept!.organization, s.organization!.id);
        assert.match(renamed!.requestId as string, /^[0-9a-f-]{36}$/, "a malformed id is replaced by a new one");
        assert.ok(!c.raw.join("").includes("not ok"), "the malformed id is not echoed");
        for (const id of [kept!.requestId, renamed!.requestId]) {
          const rows = await superQuery<{ n: string }>(server.db, "SELECT count(*)::text AS n FROM audit_events WHERE request_id = $1", [
            id,
          ]);
          assert.ok(Number(rows[0]!.n) >= 1, `the audit trail records request id ${String(id)}`);
        }
        assert.ok(!c.lines().some((l) => l.event === "data_rpc_finished"), "no Verify line above debug");
      } finally {
        grpc.close();
        g!.close();
        await server.close();
      }
    });

    it("logs no warning or error on a normal start, call and shutdown", async () => {
      const c = capture("trace");
      const server = await startTestServer({ options: { log: c.log } });
      const [g, ...rest] = allClients({ grpcPort: server.tessera.grpcPort, httpPort: server.tessera.httpPort });
      try {
        const s = await g!.admin.setup({ userName: "root", organizationIdentifier: "acme", bucketName: "main" });
        await g!.admin.listTokens({}, s.tokenValue);
      } finally {
        g!.close();
        for (const cl of rest) cl.close();
        await server.close();
      }
      const lines = c.lines();
      assert.ok(
        lines.some((l) => l.event === "serving"),
        c.raw.join(""),
      );
      const bad = lines.filter((l) => l.level >= 40);
      assert.deepEqual(bad, [], c.raw.join(""));
    });
  });
});

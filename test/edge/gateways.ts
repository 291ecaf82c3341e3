/**
 * Real gateways in front of a test upstream, for forward-auth end to end: an upstream server that
 * records what reaches it, a gateway process started on loopback ports with a generated
 * configuration (nginx here; another gateway needs only its own `start` function), and the
 * scenarios every gateway must pass, written once.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { access, mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { Signal, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import type { Clients } from "../helpers/clients.js";
import { createOrg, issue, type Instance } from "../helpers/seed.js";
import { eventually } from "../helpers/wait.js";
import { httpRequest } from "./support.js";

/** What reached the upstream: one entry per request, headers lowercased. */
export interface Upstream {
  port: number;
  seen: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders }>;
  close(): Promise<void>;
}

/** An HTTP server that answers 200 "ok" to everything and remembers what it was sent. */
export async function startUpstream(): Promise<Upstream> {
  const seen: Upstream["seen"] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    seen,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A loopback port nothing listens on now (the gateway binds it a moment later). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/** A gateway process in front of `upstream`, asking Tessera at `tesseraHttpPort`. */
export interface Gateway {
  port: number;
  /** Its own log, for failure messages. */
  log(): Promise<string>;
  close(): Promise<void>;
}

export interface GatewayOptions {
  tesseraHttpPort: number;
  upstreamPort: number;
  verifierToken: string;
}

async function waitForPort(port: number, child: ChildProcess, what: string): Promise<void> {
  await eventually(
    () =>
      new Promise<boolean>((resolve) => {
        if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode}`);
        const s = net.connect(port, "127.0.0.1");
        s.once("connect", () => (s.destroy(), resolve(true)));
        s.once("error", () => resolve(false));
      }),
    15_000,
    `${what} to listen on ${port}`,
    50,
  );
}

const NGINX = "/usr/sbin/nginx";

/**
 * Debian's nginx with `auth_request` to /forward-auth, configured as the README says, in one
 * process (master_process off: no privileges dropped, nothing left behind) with its temporary
 * files in a directory of its own.
 */
export async function startNginx(o: GatewayOptions): Promise<Gateway> {
  await access(NGINX).catch(() => {
    throw new Error(`${NGINX} is missing: run "bash test/tools/ensure-nginx.sh" (npm test does) or "apt-get install -y nginx"`);
  });
  const dir = await mkdtemp(path.join(os.tmpdir(), "tessera-nginx-"));
  const port = await freePort();
  const conf = `
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};

    location = /_tessera {
      internal;
      proxy_pass              http://127.0.0.1:${o.tesseraHttpPort}/forward-auth;
      proxy_pass_request_body off;
      proxy_set_header        Content-Length "";
      proxy_set_header        X-Tessera-Verifier "${o.verifierToken}";
      proxy_set_header        X-Original-Method $request_method;
      proxy_set_header        X-Original-URI $request_uri;
      proxy_set_header        X-Original-Host $host;
    }

    location / {
      auth_request     /_tessera;
      auth_request_set $tessera_org_id     $upstream_http_x_tessera_organization_id;
      auth_request_set $tessera_org        $upstream_http_x_tessera_organization;
      auth_request_set $tessera_token_id   $upstream_http_x_tessera_token_id;
      auth_request_set $tessera_token_kind $upstream_http_x_tessera_token_kind;
      auth_request_set $tessera_role       $upstream_http_x_tessera_role;
      proxy_set_header X-Tessera-Organization-Id $tessera_org_id;
      proxy_set_header X-Tessera-Organization    $tessera_org;
      proxy_set_header X-Tessera-Token-Id        $tessera_token_id;
      proxy_set_header X-Tessera-Token-Kind      $tessera_token_kind;
      proxy_set_header X-Tessera-Role            $tessera_role;
      proxy_set_header Authorization "";
      proxy_set_header X-Api-Key     "";
      proxy_pass http://127.0.0.1:${o.upstreamPort};
    }
  }
}
`;
  await writeFile(path.join(dir, "nginx.conf"), conf);
  const child = spawn(NGINX, ["-p", dir, "-c", path.join(dir, "nginx.conf"), "-g", "daemon off; master_process off;"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
  const log = async () => {
    const { readFile } = await import("node:fs/promises");
    return `${stderr}${await readFile(path.join(dir, "error.log"), "utf8").catch(() => "")}`;
  };
  try {
    await waitForPort(port, child, "nginx");
  } catch (err) {
    child.kill("SIGKILL");
    throw new Error(`nginx did not start: ${String(err)}\n${await log()}`);
  }
  return {
    port,
    log,
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** What the scenarios need, read inside the tests (after the hooks have run). */
export interface GatewayContext {
  gateway: Gateway;
  upstream: Upstream;
  c: Clients;
  inst: Instance;
}

/**
 * The issue's end-to-end scenarios, for any gateway: a valid ingestion token gets through and the
 * upstream sees the identity headers and no credential; a disabled token is refused on the very
 * next request; a wrong-signal request is refused with 403.
 */
export function gatewayScenarios(ctx: () => GatewayContext): void {
  const send = (path: string, headers: Array<[string, string]>, method = "POST") => httpRequest(ctx().gateway.port, path, headers, method);

  it("lets a valid ingestion token through: the upstream sees the identity headers and no credential, whatever the client claimed", async () => {
    const { c, inst, upstream } = ctx();
    const org = await createOrg(c, inst.operatorToken);
    const t = await issue(c, org.adminToken, { kind: TokenKind.INGESTION, permissions: { signals: [Signal.LOGS] } });
    const before = upstream.seen.length;
    const r = await send("/v1/logs", [
      ["authorization", `Bearer ${t.value}`],
      ["x-api-key", t.value],
      ["x-tessera-organization", "someone-else"],
      ["x-tessera-role", "ADMIN"],
    ]);
    assert.equal(r.status, 200, `${r.body}\n${await ctx().gateway.log()}`);
    assert.equal(r.body, "ok");
    assert.equal(upstream.seen.length, before + 1);
    const h = upstream.seen.at(-1)!.headers;
    assert.equal(h["x-tessera-organization-id"], org.orgId);
    assert.equal(h["x-tessera-organization"], org.identifier);
    assert.equal(h["x-tessera-token-id"], t.id);
    assert.equal(h["x-tessera-token-kind"], "INGESTION");
    assert.equal(h["x-tessera-role"], undefined, "an organization token has no role, and the client's claim is gone");
    assert.equal(h.authorization, undefined, "the upstream never sees the credential");
    assert.equal(h["x-api-key"], undefined);
    assert.equal(h["x-tessera-verifier"], undefined, "nor the gateway's verifier");
  });

  it("refuses a disabled token on the very next request, with 401 and Tessera's challenge", async () => {
    const { c, inst, upstream } = ctx();
    const org = await createOrg(c, inst.operatorToken);
    const t = await issue(c, org.adminToken, { kind: TokenKind.INGESTION });
    const ask = () => send("/loki/api/v1/push", [["authorization", `Bearer ${t.value}`]]);
    assert.equal((await ask()).status, 200);
    assert.equal((await ask()).status, 200);
    await c.admin.setTokenEnabled({ id: t.id, enabled: false }, org.adminToken);
    const before = upstream.seen.length;
    const r = await ask();
    assert.equal(r.status, 401);
    assert.equal(r.headers["www-authenticate"], 'Bearer realm="tessera"');
    assert.equal(upstream.seen.length, before, "nothing reached the upstream");
  });

  it("refuses a request for a signal the token does not grant with 403, and one no route matches", async () => {
    const { c, inst, upstream } = ctx();
    const org = await createOrg(c, inst.operatorToken);
    const t = await issue(c, org.adminToken, { kind: TokenKind.INGESTION, permissions: { signals: [Signal.METRICS] } });
    const before = upstream.seen.length;
    assert.equal((await send("/v1/traces", [["authorization", `Bearer ${t.value}`]])).status, 403);
    assert.equal((await send("/v1/../admin", [["authorization", `Bearer ${t.value}`]])).status, 403);
    assert.equal((await send("/v1/logs", [["authorization", `Bearer ${t.value}`]], "GET")).status, 403);
    assert.equal(upstream.seen.length, before);
    assert.equal((await send("/api/v1/write", [["authorization", `Bearer ${t.value}`]])).status, 200);
  });
}

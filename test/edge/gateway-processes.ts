/**
 * Real gateways on loopback ports, for forward-auth end to end (test/edge/*.test.ts) and for the
 * edge benchmark (benchmarks/edge-nginx.ts): an upstream server that records what reaches it, and
 * Debian's nginx and Caddy, each started with a configuration generated in a temporary directory
 * of its own (the README's, with the ports filled in) and stopped with everything it wrote.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { access, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { eventually } from "../helpers/wait.js";

/** What reached the upstream: one entry per request, headers lowercased. */
export interface Upstream {
  port: number;
  seen: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; body: string }>;
  close(): Promise<void>;
}

/**
 * An HTTP server that answers 200 "ok" to everything and remembers what it was sent (unless
 * `record` is false: a benchmark sends it millions of requests).
 */
export async function startUpstream(o: { record?: boolean } = {}): Promise<Upstream> {
  const seen: Upstream["seen"] = [];
  const record = o.record ?? true;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => record && chunks.push(c));
    req.on("end", () => {
      if (record)
        seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(200, { "content-type": "text/plain", "content-length": "2" });
      res.end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
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

/** A loopback port nothing listens on now (the gateway binds it a moment later). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
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

interface Launch {
  what: string;
  bin: string;
  /** The script that installs it (npm test runs it first). */
  ensure: string;
  /** The configuration, given its directory and port. */
  config(dir: string, port: number): { file: string; text: string };
  args(dir: string, file: string): string[];
  env?(dir: string): NodeJS.ProcessEnv;
  /** Log files it writes in its directory, beside its stderr. */
  logFiles?: string[];
}

/** Starts `l` in a fresh temporary directory on a free loopback port; close() removes the directory. */
async function launch(l: Launch): Promise<Gateway> {
  await access(l.bin).catch(() => {
    throw new Error(`${l.bin} is missing: run "bash ${l.ensure}" (npm test does)`);
  });
  const dir = await mkdtemp(path.join(os.tmpdir(), `tessera-${l.what}-`));
  const port = await freePort();
  const { file, text } = l.config(dir, port);
  await writeFile(path.join(dir, file), text);
  const child = spawn(l.bin, l.args(dir, path.join(dir, file)), {
    cwd: dir,
    env: l.env?.(dir) ?? process.env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (c: Buffer) => {
    stderr = (stderr + c.toString("utf8")).slice(-20_000);
  });
  const log = async () => {
    let out = stderr;
    for (const f of l.logFiles ?? []) out += await readFile(path.join(dir, f), "utf8").catch(() => "");
    return out;
  };
  try {
    await waitForPort(port, child, l.what);
  } catch (err) {
    child.kill("SIGKILL");
    const text = await log();
    await rm(dir, { recursive: true, force: true });
    throw new Error(`${l.what} did not start: ${String(err)}\n${text}`);
  }
  return {
    port,
    log,
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Debian's nginx with `auth_request` to /forward-auth, configured as the README says, in one
 * process (master_process off: no privileges dropped, nothing left behind) with its temporary
 * files in a directory of its own. `auth: false` is the same configuration without the
 * sub-request (and its header settings), the benchmark's baseline; `tesseraKeepalive` keeps
 * connections to Tessera open between sub-requests (a variant the benchmark compares).
 */
export function startNginx(o: GatewayOptions & { auth?: boolean; tesseraKeepalive?: boolean }): Promise<Gateway> {
  const auth = o.auth ?? true;
  return launch({
    what: "nginx",
    bin: "/usr/sbin/nginx",
    ensure: "test/tools/ensure-nginx.sh",
    logFiles: ["error.log"],
    args: (dir, file) => ["-p", dir, "-c", file, "-g", "daemon off; master_process off;"],
    config: (dir, port) => ({
      file: "nginx.conf",
      text: `
pid ${dir}/nginx.pid;
error_log ${dir}/error.log ${auth ? "info" : "warn"};
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${
  o.tesseraKeepalive
    ? `  upstream tessera {
    server 127.0.0.1:${o.tesseraHttpPort};
    keepalive 32;
  }
`
    : ""
}  server {
    listen 127.0.0.1:${port};
${auth ? nginxAuth(o, o.tesseraKeepalive ?? false) : NGINX_NO_AUTH}
      proxy_pass http://127.0.0.1:${o.upstreamPort};
    }
  }
}
`,
    }),
  });
}

const nginxAuth = (o: GatewayOptions, keepalive: boolean): string => `
    location = /_tessera {
      internal;${
        keepalive
          ? `
      proxy_pass              http://tessera/forward-auth;
      proxy_http_version      1.1;
      proxy_set_header        Connection "";`
          : `
      proxy_pass              http://127.0.0.1:${o.tesseraHttpPort}/forward-auth;`
      }
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
      proxy_set_header X-Api-Key     "";`;

const NGINX_NO_AUTH = `
    location / {`;

/**
 * Debian's caddy with `forward_auth` to /forward-auth, configured as the README says: the
 * client's own x-tessera-* headers removed first (Caddy before 2.10 keeps a client's header that
 * the auth response does not name), the query kept off the sub-request (Caddy appends the
 * original query to `uri` unless it ends in `?`, and /forward-auth would read it as its own
 * parameters), the empty role of an organization token removed, the credential stripped. No
 * admin endpoint, no automatic HTTPS, and HOME and XDG directories in its own directory, where
 * Caddy writes its data and autosaved configuration.
 */
export function startCaddy(o: GatewayOptions): Promise<Gateway> {
  return launch({
    what: "caddy",
    bin: "/usr/bin/caddy",
    ensure: "test/tools/ensure-caddy.sh",
    args: (_dir, file) => ["run", "--config", file, "--adapter", "caddyfile"],
    env: (dir) => ({
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: dir,
      XDG_CONFIG_HOME: path.join(dir, "config"),
      XDG_DATA_HOME: path.join(dir, "data"),
    }),
    config: (_dir, port) => ({
      file: "Caddyfile",
      text: `{
	admin off
	auto_https off
	grace_period 2s
}

http://127.0.0.1:${port} {
	route {
		request_header -X-Tessera-*
		forward_auth 127.0.0.1:${o.tesseraHttpPort} {
			uri /forward-auth?
			header_up X-Tessera-Verifier "${o.verifierToken}"
			copy_headers X-Tessera-Organization-Id X-Tessera-Organization X-Tessera-Token-Id X-Tessera-Token-Kind X-Tessera-Role
		}
		@no_role header X-Tessera-Role ""
		request_header @no_role -X-Tessera-Role
		request_header -Authorization
		request_header -X-Api-Key
		reverse_proxy 127.0.0.1:${o.upstreamPort}
	}
}
`,
    }),
  });
}

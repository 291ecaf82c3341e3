/**
 * Recovery: an OPERATOR token minted straight into the database, for when no operator token is
 * known any more (`tessera recovery create-operator`, InfluxDB's `influxd recovery auth`).
 *
 * It runs as tessera_owner, which has BYPASSRLS, because there is no token to authenticate with
 * and the root user and its organization have to be found across organizations. The insert
 * itself still goes through withOrg and the service's own insertToken, so the row is written
 * exactly as CreateToken writes one. Like everything else in the store it never sees a token
 * value: the caller hands in the digest, key id and mask.
 *
 * With the embedded default it also finds the owner connection: the cluster the running server
 * started (its postmaster.pid names the port), or the cluster started here for the duration.
 */
import { randomUUID } from "node:crypto";
import { access, readFile } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { isTesseraError } from "../domain/errors.js";
import type { TokenRecord } from "../domain/model.js";
import { startEmbeddedPostgres } from "./embedded.js";
import { insertToken } from "./queries/tokens.js";
import { OWNER_ROLE, withDatabase } from "./roles.js";
import { withOrg, type Tx } from "./with-org.js";

/** The database the embedded default creates (startEmbeddedPostgres's default). */
const EMBEDDED_DATABASE = "tessera";

interface RecoveryMaterial {
  digest: Buffer;
  keyId: number;
  mask: string;
}

export interface RecoveryRequest {
  /** A root user's name; absent: the oldest live root user. */
  userName?: string;
  /**
   * The token's name, asked for again (a fresh one each time) when the one before is already
   * taken in the organization, up to NAME_ATTEMPTS times: recovery must work however often it runs.
   */
  name: () => string;
  description: string;
  material: RecoveryMaterial;
  /** Runs in the token's transaction after the insert: the audit trail's record of it. */
  record?: (tx: Tx, token: TokenRecord) => Promise<void>;
}

type RecoveryProblem = "not-migrated" | "no-root-user" | "user-not-found" | "user-not-root" | "no-admin-organization";

export type RecoveryOutcome =
  | { ok: true; token: TokenRecord; user: { id: string; name: string }; org: { id: string; identifier: string } }
  | { ok: false; problem: RecoveryProblem; userName?: string };

/** A live user by name, root or not (so a non-root name gets its own message). */
async function findUserByName(pool: pg.Pool, name: string): Promise<{ id: string; name: string; root: boolean } | undefined> {
  const r = await pool.query<{ id: string; name: string; root: boolean }>(
    `SELECT id, name, root FROM users WHERE name = $1 AND deleted_at IS NULL`,
    [name],
  );
  return r.rows[0];
}

/** The oldest live root user: the one setup created, unless it was deleted. */
async function findOldestRootUser(pool: pg.Pool): Promise<{ id: string; name: string } | undefined> {
  const r = await pool.query<{ id: string; name: string }>(
    `SELECT id, name FROM users WHERE root AND deleted_at IS NULL ORDER BY created_at, id LIMIT 1`,
  );
  return r.rows[0];
}

/**
 * The organization the token will live in: the oldest one the user is an ADMIN of, enabled ones
 * first (a token in a disabled organization is refused, whatever its kind).
 */
async function findAdminOrganization(pool: pg.Pool, userId: string): Promise<{ id: string; identifier: string } | undefined> {
  const r = await pool.query<{ id: string; identifier: string }>(
    `SELECT o.id, o.identifier
       FROM memberships m JOIN organizations o ON o.id = m.org_id
      WHERE m.user_id = $1 AND m.role = 'ADMIN'
      ORDER BY o.enabled DESC, o.created_at, o.id
      LIMIT 1`,
    [userId],
  );
  return r.rows[0];
}

/** Names asked for before a clash is reported (with the CLI's 32 random bits, a second one is almost never needed). */
export const NAME_ATTEMPTS = 5;

/** Finds the root user and its organization and inserts the OPERATOR token, as tessera_owner. */
export async function createRecoveryOperatorToken(ownerUrl: string, req: RecoveryRequest): Promise<RecoveryOutcome> {
  const pool = new pg.Pool({ connectionString: ownerUrl, max: 1, connectionTimeoutMillis: 10_000 });
  pool.on("error", () => undefined); // an idle client dying must not crash the command; queries still report it
  try {
    let user: { id: string; name: string } | undefined;
    if (req.userName !== undefined) {
      const u = await findUserByName(pool, req.userName);
      if (u === undefined) return { ok: false, problem: "user-not-found", userName: req.userName };
      if (!u.root) return { ok: false, problem: "user-not-root", userName: req.userName };
      user = u;
    } else {
      user = await findOldestRootUser(pool);
      if (user === undefined) return { ok: false, problem: "no-root-user" };
    }
    const org = await findAdminOrganization(pool, user.id);
    if (org === undefined) return { ok: false, problem: "no-admin-organization", userName: user.name };
    const owner = user.id;
    for (let attempt = 1; ; attempt++) {
      try {
        const token = await withOrg(pool, org.id, async (tx) => {
          const t = await insertToken(tx, {
            id: randomUUID(),
            orgId: org.id,
            name: req.name(),
            description: req.description,
            kind: "OPERATOR",
            isDefault: false,
            digest: req.material.digest,
            keyId: req.material.keyId,
            mask: req.material.mask,
            ownerUserId: owner,
            createdBy: null,
            permissions: {},
            expiresAt: null,
          });
          await req.record?.(tx, t);
          return t;
        });
        return { ok: true, token, user: { id: user.id, name: user.name }, org };
      } catch (err) {
        // insertToken reports a taken name as ALREADY_EXISTS (the transaction rolled back):
        // try again under a fresh name rather than fail a recovery over what it is called.
        if (!(isTesseraError(err) && err.code === "ALREADY_EXISTS") || attempt >= NAME_ATTEMPTS) throw err;
      }
    }
  } catch (err) {
    if ((err as { code?: string }).code === "42P01") return { ok: false, problem: "not-migrated" }; // undefined_table
    throw err;
  } finally {
    await pool.end();
  }
}

// ---- the embedded default ----

export class EmbeddedDataMissing extends Error {
  override readonly name = "EmbeddedDataMissing";
}

export interface OwnerConnection {
  ownerUrl: string;
  /** Whether PostgreSQL was started here (and is stopped by close()). */
  startedHere: boolean;
  close(): Promise<void>;
}

/** The port of the cluster's running postmaster, if postmaster.pid names a live process. */
async function runningPostmasterPort(clusterDir: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(path.join(clusterDir, "postmaster.pid"), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  // Lines: pid, data directory, start time, port, socket directory, listen address, …
  const lines = text.split("\n");
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || port <= 0) return undefined;
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: alive, but another OS user's process (as root, PostgreSQL runs as `postgres`).
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return undefined; // a stale file left by a crash
  }
  return port;
}

/**
 * The owner connection of the embedded cluster in `dataDir`. Never creates anything: a data
 * directory without credentials or cluster means there is no instance to recover.
 */
export async function connectEmbeddedOwner(dataDir: string, onStart: () => void = () => undefined): Promise<OwnerConnection> {
  const dir = path.resolve(dataDir);
  const clusterDir = path.join(dir, "pg");
  const credsFile = path.join(dir, "pg-credentials.json");
  let owner: unknown;
  try {
    owner = (JSON.parse(await readFile(credsFile, "utf8")) as { owner?: unknown }).owner;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT")
      throw new EmbeddedDataMissing(`no embedded database in ${dir}: ${credsFile} does not exist`);
    throw new Error(`cannot read ${credsFile}: ${err instanceof SyntaxError ? "not valid JSON" : (err as Error).message}`);
  }
  if (typeof owner !== "string") throw new Error(`${credsFile} has no owner password`);
  try {
    await access(path.join(clusterDir, "PG_VERSION"));
  } catch {
    throw new EmbeddedDataMissing(`no embedded database in ${dir}: ${clusterDir} holds no PostgreSQL cluster`);
  }

  const port = await runningPostmasterPort(clusterDir);
  if (port !== undefined) {
    const ownerUrl = withDatabase(`postgres://127.0.0.1:${port}/postgres`, EMBEDDED_DATABASE, OWNER_ROLE, owner);
    return { ownerUrl, startedHere: false, close: async () => undefined };
  }
  onStart();
  const embedded = await startEmbeddedPostgres({ dataDir: dir });
  return { ownerUrl: embedded.ownerUrl, startedHere: true, close: () => embedded.stop() };
}

/**
 * Configuration: one typed object, built and validated once at start-up from flags and the
 * environment. Nothing else in the code reads process.env.
 */
import path from "node:path";

export interface Config {
  host: string;
  grpcPort: number;
  httpPort: number;
  dataDir: string;
  /** The service's connection (role tessera_app or equivalent); absent: embedded PostgreSQL. */
  databaseUrl: string | undefined;
  /** The owner's connection, for migrations; with an external database, optional. */
  ownerDatabaseUrl: string | undefined;
  /** Digest keys as JSON (see src/domain/digest.ts), instead of the key file. */
  digestKeys: string | undefined;
  keyFile: string;
  poolSize: number;
  /**
   * Server processes sharing the listeners (node:cluster); 1 serves from this process alone.
   * Each worker has its own pool of `poolSize` connections, revocation listener and cache.
   */
  workers: number;
  maxMessageBytes: number;
  feed: {
    /** Re-read the revocation feed at least this often, wake-ups or not. */
    pollMs: number;
    /** WatchRevocations sends a checkpoint after this long without events. */
    checkpointMs: number;
    /** Events are kept this long; older cursors answer OUT_OF_RANGE. */
    retentionMs: number;
    /** Expiry announcements and pruning run this often. */
    maintenanceMs: number;
    /** How often the idle-token sweep runs (with the feed upkeep). */
    idleSweepMs: number;
    /** The Verify cache answers only while the feed was read at most this long ago. */
    freshMs: number;
    /** Events kept in memory for resuming or lagging subscribers; one lagging further is cut. */
    ringSize: number;
  };
  cache: {
    maxEntries: number;
    negativeTtlMs: number;
    positiveTtlMs: number;
  };
  /**
   * A token's stored last-used time is moved forward only once it is this old: the first use
   * shows within seconds, later ones at this precision, so busy tokens cost no write per use.
   */
  lastUsedPrecisionMs: number;
  /**
   * A JSON file of ingestion routes checked before the built-in presets (domain/ingestion-routes.ts);
   * undefined: the built-in presets alone.
   */
  ingestionRoutesFile: string | undefined;
  /** The least severe log level written (src/log.ts gives each event its level). */
  logLevel: LogLevel;
  audit: {
    /**
     * Off only in benchmarks, to measure what the trail costs: nothing is recorded then.
     * Not settable from the environment: a deployment always keeps its trail.
     */
    enabled: boolean;
    /** Entries older than this many days are removed (with a record of it); undefined keeps them all. */
    retentionDays: number | undefined;
    /** How often WatchAuditEvents looks for new entries. */
    pollMs: number;
  };
}

/** pino's levels, least severe first; `silent` writes nothing. */
const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export class ConfigError extends Error {}

/** Each worker holds a pool and a LISTEN connection: 64 × (16 + 1) stays within max_connections of a large server. */
export const MAX_WORKERS = 64;

function port(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d{1,5}$/.test(raw) || Number(raw) > 65535) throw new ConfigError(`${name} must be a port number (0–65535), got "${raw}"`);
  return Number(raw);
}

function positive(name: string, raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new ConfigError(`${name} must be an integer from 1 to ${max}, got "${raw}"`);
  return n;
}

/** Like positive, for a setting whose absence means "none" (no limit, keep everything). */
function optionalPositive(name: string, raw: string | undefined, max: number): number | undefined {
  return raw === undefined || raw === "" ? undefined : positive(name, raw, 1, max);
}

function logLevel(raw: string): LogLevel {
  const level = LOG_LEVELS.find((l) => l === raw);
  if (level === undefined) throw new ConfigError(`TESSERA_LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}, got "${raw}"`);
  return level;
}

/**
 * The hub counts as fresh while its last feed read is at most freshMs old, and it reads at least
 * every pollMs: a bound at or below the poll interval would make it stale between two quiet polls,
 * so Verify would never answer from its cache and checkpoints would stop.
 */
function checkFeed(feed: Config["feed"]): Config["feed"] {
  if (feed.freshMs <= feed.pollMs) {
    throw new ConfigError(
      `TESSERA_FEED_FRESH_MS (${feed.freshMs}) must be longer than TESSERA_FEED_POLL_MS (${feed.pollMs}): the feed is read every poll interval`,
    );
  }
  return feed;
}

/** Flags win over environment variables, which win over defaults. */
export function loadConfig(flags: Record<string, string | undefined>, env: NodeJS.ProcessEnv): Config {
  const dataDir = path.resolve(flags["data-dir"] ?? env.TESSERA_DATA_DIR ?? ".tessera");
  return {
    host: flags.host ?? env.TESSERA_HOST ?? "127.0.0.1",
    grpcPort: port("--grpc-port", flags["grpc-port"] ?? env.TESSERA_GRPC_PORT, 50051),
    httpPort: port("--http-port", flags["http-port"] ?? env.TESSERA_HTTP_PORT, 8080),
    dataDir,
    databaseUrl: flags["database-url"] ?? (env.DATABASE_URL || undefined),
    ownerDatabaseUrl: flags["owner-database-url"] ?? (env.TESSERA_OWNER_DATABASE_URL || undefined),
    digestKeys: env.TESSERA_DIGEST_KEYS || undefined,
    keyFile: path.resolve(flags["key-file"] ?? env.TESSERA_KEY_FILE ?? path.join(dataDir, "digest-keys.json")),
    poolSize: positive("TESSERA_POOL_SIZE", env.TESSERA_POOL_SIZE, 16, 500),
    workers: positive("--workers", flags.workers ?? env.TESSERA_WORKERS, 1, MAX_WORKERS),
    maxMessageBytes: 4 * 1024 * 1024,
    feed: checkFeed({
      pollMs: positive("TESSERA_FEED_POLL_MS", env.TESSERA_FEED_POLL_MS, 1000, 60_000),
      checkpointMs: positive("TESSERA_CHECKPOINT_MS", env.TESSERA_CHECKPOINT_MS, 1000, 60_000),
      retentionMs: positive("TESSERA_FEED_RETENTION_HOURS", env.TESSERA_FEED_RETENTION_HOURS, 24, 24 * 90) * 3_600_000,
      maintenanceMs: 1000,
      // Idle limits are hours at least (twice the last-used precision): a minute late is on time,
      // and the sweep reads every token of the organizations that have one.
      idleSweepMs: 60_000,
      freshMs: positive("TESSERA_FEED_FRESH_MS", env.TESSERA_FEED_FRESH_MS, 3000, 600_000),
      ringSize: positive("TESSERA_FEED_RING_SIZE", env.TESSERA_FEED_RING_SIZE, 50_000, 10_000_000),
    }),
    cache: {
      maxEntries: positive("TESSERA_CACHE_MAX_ENTRIES", env.TESSERA_CACHE_MAX_ENTRIES, 1_000_000, 100_000_000),
      negativeTtlMs: 10_000,
      positiveTtlMs: 300_000,
    },
    lastUsedPrecisionMs: positive("TESSERA_LAST_USED_PRECISION_S", env.TESSERA_LAST_USED_PRECISION_S, 3600, 7 * 86_400) * 1000,
    ingestionRoutesFile: env.TESSERA_INGESTION_ROUTES_FILE ? path.resolve(env.TESSERA_INGESTION_ROUTES_FILE) : undefined,
    logLevel: logLevel(env.TESSERA_LOG_LEVEL ?? "info"),
    audit: {
      enabled: true,
      retentionDays: optionalPositive("TESSERA_AUDIT_RETENTION_DAYS", env.TESSERA_AUDIT_RETENTION_DAYS, 36_500),
      pollMs: 500,
    },
  };
}

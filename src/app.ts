/**
 * Starts a Tessera instance: database (embedded or given), migrations, posture check, digest
 * keys, the two services, and both listeners. `serve` and the tests both come through here.
 */
import { readFile } from "node:fs/promises";
import type { Keyring } from "./domain/digest.js";
import { keyringFromEnv } from "./domain/digest.js";
import { BUILT_IN_ROUTES, parseIngestionRoutes, type IngestionRoute } from "./domain/ingestion-routes.js";
import { Authorization } from "./gen/envoy/service/auth/v3/external_auth_pb.js";
import { TokenAdminService } from "./gen/tessera/v1/token_admin_service_pb.js";
import { TokenVerifyService } from "./gen/tessera/v1/token_verify_service_pb.js";
import type { Config } from "./config.js";
import { createLog, type Log } from "./log.js";
import { createTokenAdminService } from "./services/admin-service.js";
import { createAuthenticator } from "./services/authenticate.js";
import type { ServiceDeps } from "./services/deps.js";
import { createTokenLookup } from "./services/token-lookup.js";
import { startFeedMaintenance } from "./services/feed-maintenance.js";
import { createImportedFilter } from "./services/imported-filter.js";
import { createLastUsedRecorder } from "./services/last-used.js";
import { createRevocationHub } from "./services/revocation-hub.js";
import { createVerifyCache, type VerifyCache } from "./services/verify-cache.js";
import { createVerifyDecider, createTokenVerifyService } from "./services/verify-service.js";
import { createEdgeChecker } from "./services/edge-check.js";
import { createExtAuthzService } from "./services/ext-authz-service.js";
import { createDatabase, type Database } from "./store/database.js";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "./store/embedded.js";
import { loadOrCreateKeyFile } from "./store/key-file.js";
import { migrate } from "./store/migrate.js";
import { isSetupDone } from "./store/queries/organizations.js";
import { postureProblem, servicePosture } from "./store/posture.js";
import { APP_ROLE } from "./store/roles.js";
import { createAuthInterceptor } from "./transport/auth-interceptor.js";
import { startGrpcServer } from "./transport/grpc-server.js";
import { startHttpServer } from "./transport/http-server.js";
import { createForwardAuth } from "./transport/forward-auth.js";
import { createHttpFallback, type FallbackHandler } from "./transport/http-fallback.js";
import { createUnavailableLog, type UnavailableLog } from "./transport/unavailable-log.js";
import type { Interceptor } from "@connectrpc/connect";
import type { Authenticator } from "./services/caller.js";
import { createRpcMetrics, type RpcMetrics } from "./transport/rpc-metrics.js";
import { createInstanceMetrics, type InstanceMetrics } from "./services/instance-metrics.js";
import { auditAuthRefusals } from "./services/audit/auth-refusals.js";
import { createRefusalRecorder } from "./services/audit/refusals.js";
import { pruneAuditTrails } from "./services/audit/retention.js";
import { createAuditTrail } from "./services/audit/trail.js";
import { recordDigestKey } from "./services/audit/digest-key.js";
import { sealPending } from "./services/audit/sealer.js";
import { sweepIdleTokens } from "./services/audit/idle-sweep.js";
import type { AuthRefusal } from "./services/request-info.js";

export interface TesseraOptions {
  log?: Log;
  now?: () => number;
  /** Overrides the key file / TESSERA_DIGEST_KEYS (tests). */
  keyring?: Keyring;
  /** The role migrations grant to; defaults to tessera_app. */
  appRole?: string;
  /** Called on every Verify database lookup (benchmarks count queries per request). */
  onQuery?: () => void;
  /** How often the log counts calls refused while the database is down (10 s). */
  unavailableLogIntervalMs?: number;
  /**
   * false: no per-RPC metrics (grpc_server_*) and no per-call log lines, on either listener.
   * Internal: `npm run bench:metrics` measures what they cost Verify against an instance without.
   */
  rpcHooks?: boolean;
  /**
   * GET /metrics's answer instead of this instance's own registry: a cluster worker's, which
   * asks the primary for every worker's merged (services/cluster-metrics.ts).
   */
  renderMetrics?: () => Promise<{ contentType: string; body: string }>;
}

export interface Tessera {
  grpcPort: number;
  httpPort: number;
  db: Database;
  deps: ServiceDeps;
  cache: VerifyCache;
  /** This instance's own metrics (a cluster worker's primary merges every worker's). */
  metricsJson(): ReturnType<InstanceMetrics["registry"]["getMetricsAsJSON"]>;
  /** Whether Setup has run on this instance's database. */
  isSetUp(): Promise<boolean>;
  close(): Promise<void>;
}

/** The database an instance serves from, ready: started if embedded, migrated if an owner URL is known. */
export interface PreparedDatabase {
  /** The service role's connection string. */
  appUrl: string;
  /** Stops the embedded PostgreSQL, if this started one. */
  stop(): Promise<void>;
}

/**
 * What must happen once per database before anything serves from it: the embedded PostgreSQL
 * started (when no DATABASE_URL is given) and the migrations applied (when an owner connection
 * is known). startTessera runs it for itself; `serve --workers` runs it once in the primary and
 * hands its workers the app URL alone, so they find nothing left to do.
 */
export async function prepareDatabase(config: Config, log: Log, appRole = APP_ROLE): Promise<PreparedDatabase> {
  let appUrl = config.databaseUrl;
  let ownerUrl = config.ownerDatabaseUrl;
  let embedded: EmbeddedDatabase | undefined;
  if (appUrl === undefined) {
    log("embedded_postgres_starting", { dataDir: config.dataDir });
    embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, log });
    appUrl = embedded.appUrl;
    ownerUrl = embedded.ownerUrl;
  }
  const stop = async (): Promise<void> => {
    await embedded?.stop();
  };
  try {
    if (ownerUrl !== undefined) {
      const { applied } = await migrate({ ownerUrl, appRole });
      if (applied.length > 0) log("migrations_applied", { applied });
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { appUrl, stop };
}

/** The digest keys: TESSERA_DIGEST_KEYS if given, else the key file, created on first start. */
export function loadKeyring(config: Config): Promise<Keyring> {
  return config.digestKeys !== undefined ? Promise.resolve(keyringFromEnv(config.digestKeys)) : loadOrCreateKeyFile(config.keyFile);
}

/** What an instance serves, built between "the database is migrated" and "bind the listeners". */
export interface Services {
  services: Array<{ desc: typeof TokenAdminService | typeof TokenVerifyService | typeof Authorization; impl: object }>;
  authenticate: Authenticator;
  /** The HTTP listener's interceptors (the gRPC listener runs the same through its adapter). */
  interceptors: Interceptor[];
  /** Told of refused credentials on both listeners (the audit trail). */
  onAuthRefused: (r: AuthRefusal) => void;
  /** Counts UNAVAILABLE answers on both listeners. */
  unavailable: UnavailableLog;
  /** `/forward-auth` on the HTTP port. */
  forwardAuth: FallbackHandler;
  metrics: InstanceMetrics;
  /** Per-RPC counters, latencies and call logs, recorded by both listeners (none with rpcHooks false). */
  rpcMetrics: RpcMetrics | undefined;
  db: Database;
  deps: ServiceDeps;
  cache: VerifyCache;
  close(): Promise<void>;
}

export interface ServicesOptions {
  /** The service role's connection string (prepareDatabase's appUrl). */
  appUrl: string;
  keyring: Keyring;
  log: Log;
  now: () => number;
  onQuery?: (() => void) | undefined;
  unavailableLogIntervalMs?: number | undefined;
  /** See TesseraOptions.rpcHooks. */
  rpcHooks?: boolean | undefined;
}

/**
 * The two services and everything they own, over a migrated database: pool (with its posture
 * checked), revocation hub, Verify cache, lookups, last-used recorder, feed upkeep, the
 * authenticator and the interceptors. startTessera puts listeners in front of it; the in-memory
 * tests put Connect's router transport.
 */
export async function createServices(config: Config, opts: ServicesOptions): Promise<Services> {
  const { appUrl, keyring, log, now } = opts;
  const cleanups: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => log("shutdown_error", { error: String(err) }));
  };
  try {
    const db = createDatabase({ url: appUrl, poolSize: config.poolSize, onError: (err) => log("db_idle_error", { error: err.message }) });
    cleanups.push(() => db.close());
    const problem = postureProblem(await servicePosture(db.pool));
    if (problem !== undefined) throw new Error(`refusing to serve: ${problem}`);

    const hub = createRevocationHub({
      url: appUrl,
      db,
      log,
      now,
      pollMs: config.feed.pollMs,
      freshMs: config.feed.freshMs,
      ringSize: config.feed.ringSize,
    });
    await hub.start();
    cleanups.push(() => hub.close());
    const cache = createVerifyCache({ ...config.cache, now });
    hub.onEvents((events) => cache.apply(events));
    // Loaded after the hub fixed its position: whatever commits later reaches it through the feed.
    const importedFilter = createImportedFilter({ db, log });
    hub.onEvents((events) => importedFilter.apply(events));
    cleanups.push(async () => importedFilter.close());
    await importedFilter.load();
    const metrics = createInstanceMetrics({ cache, hub, db });
    const onQuery = opts.onQuery;
    const countQuery = onQuery === undefined ? metrics.onQuery : () => (metrics.onQuery(), onQuery());
    const lookup = createTokenLookup({
      db,
      keyring,
      log,
      cache,
      cacheFresh: () => hub.fresh(),
      onQuery: countQuery,
      onDbLookup: metrics.onDbLookup,
      importedFilter,
    });
    const lastUsed = createLastUsedRecorder({ db, now, log, precisionMs: config.lastUsedPrecisionMs });
    cleanups.push(() => lastUsed.close());
    const audit = createAuditTrail(keyring, config.audit.enabled, now);
    const refusals = createRefusalRecorder(db, audit, log);
    await recordDigestKey(db, audit, keyring);
    cleanups.push(() => refusals.flush());
    const retentionDays = config.audit.retentionDays;
    const maintenance = startFeedMaintenance({
      db,
      now,
      log,
      intervalMs: config.feed.maintenanceMs,
      retentionMs: config.feed.retentionMs,
      idleSweepMs: config.feed.idleSweepMs,
      sweepIdle: (at) => sweepIdleTokens(db, audit, at),
      sealAudit: config.audit.enabled ? () => sealPending(db, keyring) : undefined,
      pruneAudit:
        retentionDays === undefined
          ? undefined
          : (now) => pruneAuditTrails(db, audit, new Date(now.getTime() - retentionDays * 86_400_000)),
    });
    cleanups.push(async () => maintenance.stop());
    const deps: ServiceDeps = {
      db,
      keyring,
      lookup,
      now,
      log,
      hub,
      importedFilter,
      lastUsed,
      checkpointMs: config.feed.checkpointMs,
      audit,
      refusals,
      auditPollMs: config.audit.pollMs,
      onVerify: metrics.onVerify,
    };
    const authenticate = createAuthenticator(lookup, now, lastUsed);
    // One decider for Verify, Envoy's Check and forward-auth: one cache of answers, one decision.
    const decideVerify = createVerifyDecider(deps);
    const routes = [...(await loadIngestionRoutes(config)), ...BUILT_IN_ROUTES];
    const extAuthz = createExtAuthzService({
      check: createEdgeChecker({ decideVerify, routes, parameterWord: "context extension" }),
      onDecision: metrics.onEdge("ext_authz"),
    });
    const services = [
      { desc: TokenAdminService, impl: createTokenAdminService(deps) },
      { desc: TokenVerifyService, impl: createTokenVerifyService(deps, decideVerify) },
      { desc: Authorization, impl: extAuthz },
    ];
    const unavailable = createUnavailableLog(log, opts.unavailableLogIntervalMs);
    cleanups.push(async () => unavailable.close());
    const onAuthRefused = auditAuthRefusals(audit, refusals);
    const rpcMetrics = opts.rpcHooks === false ? undefined : createRpcMetrics(metrics.registry, log);
    const interceptors = [createAuthInterceptor(authenticate, { log, unavailable, onAuthRefused, rpcMetrics })];
    const forwardAuth = createForwardAuth({
      authenticate,
      check: createEdgeChecker({ decideVerify, routes, parameterWord: "query parameter" }),
      log,
      unavailable,
      onDecision: metrics.onEdge("forward_auth"),
    });
    return { services, authenticate, onAuthRefused, interceptors, unavailable, forwardAuth, metrics, rpcMetrics, db, deps, cache, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The instance's own ingestion routes (TESSERA_INGESTION_ROUTES_FILE), checked before the built-in presets. */
async function loadIngestionRoutes(config: Config): Promise<IngestionRoute[]> {
  const file = config.ingestionRoutesFile;
  if (file === undefined) return [];
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, "utf8"));
  } catch (err) {
    throw new Error(`TESSERA_INGESTION_ROUTES_FILE ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parseIngestionRoutes(json, `TESSERA_INGESTION_ROUTES_FILE ${file}`);
}

export async function startTessera(config: Config, opts: TesseraOptions = {}): Promise<Tessera> {
  const log = opts.log ?? createLog({ level: config.logLevel });
  const now = opts.now ?? Date.now;
  const cleanups: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => log("shutdown_error", { error: String(err) }));
  };
  try {
    const prepared = await prepareDatabase(config, log, opts.appRole);
    cleanups.push(prepared.stop);
    const appUrl = prepared.appUrl;
    const keyring = opts.keyring ?? (await loadKeyring(config));

    const core = await createServices(config, {
      appUrl,
      keyring,
      log,
      now,
      onQuery: opts.onQuery,
      unavailableLogIntervalMs: opts.unavailableLogIntervalMs,
      rpcHooks: opts.rpcHooks,
    });
    cleanups.push(core.close);
    const { db, deps, cache, metrics, rpcMetrics, services, authenticate, onAuthRefused, interceptors, unavailable, forwardAuth } = core;
    const grpcServer = await startGrpcServer({
      host: config.host,
      port: config.grpcPort,
      services,
      authenticate,
      onAuthRefused,
      log,
      unavailable,
      rpcMetrics,
      maxMessageBytes: config.maxMessageBytes,
    });
    cleanups.push(() => grpcServer.close());
    let ready = false;
    const httpServer = await startHttpServer({
      host: config.host,
      port: config.httpPort,
      routes: (router) => {
        for (const s of services) router.service(s.desc, s.impl as never);
      },
      interceptors,
      fallback: createHttpFallback({ ready: () => ready, metrics: opts.renderMetrics ?? metrics.render, forwardAuth }),
      maxMessageBytes: config.maxMessageBytes,
    });
    cleanups.push(() => httpServer.close());

    // SERVING only now: the database answered, migrations ran, and both listeners are bound.
    ready = true;
    grpcServer.health.setStatus("", "SERVING");
    for (const s of services) grpcServer.health.setStatus(s.desc.typeName, "SERVING");
    log("serving", { grpcPort: grpcServer.port, httpPort: httpServer.port, embedded: config.databaseUrl === undefined });
    // Unknown counts as set up: the answer only decides whether to print a hint.
    const isSetUp = () => isSetupDone(db.pool).catch(() => true);
    const metricsJson = () => metrics.registry.getMetricsAsJSON();
    return { grpcPort: grpcServer.port, httpPort: httpServer.port, db, deps, cache, metricsJson, isSetUp, close };
  } catch (err) {
    await close();
    throw err;
  }
}

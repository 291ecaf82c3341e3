/** The metrics one Tessera instance exposes on GET /metrics. */
import { Counter, Gauge, Histogram } from "prom-client";
import { VerifyStatus } from "../gen/tessera/v1/token_verify_service_pb.js";
import { poolUsage, type Database } from "../store/database.js";
import { counterFrom, createRegistry, gaugeFrom, renderMetrics, type Registry } from "./metrics.js";
import type { RevocationHub } from "./revocation-hub.js";
import type { LookupPurpose } from "./token-lookup.js";
import type { VerifyCache } from "./verify-cache.js";

export interface InstanceMetrics {
  /** Where the RPC metrics (transport/rpc-metrics.ts) register too. */
  readonly registry: Registry;
  render(): Promise<{ contentType: string; body: string }>;
  onVerify(status: number): void;
  /** Told each database round trip of token lookups (batched: one may serve many lookups). */
  onQuery(): void;
  /** Told each token lookup the cache could not answer, by who asked. */
  onDbLookup(purpose: LookupPurpose): void;
  /** Told each decision of an edge (`ext_authz`, `forward_auth`): VALID or its refusal's status. */
  onEdge(edge: "ext_authz" | "forward_auth"): (status: string) => void;
}

export function createInstanceMetrics(o: { cache: VerifyCache; hub: RevocationHub; db: Database }): InstanceMetrics {
  const registry = createRegistry();
  // Counted in plain numbers on the hot path and handed to prom-client when scraped (an
  // increment of a prom-client child hashes its labels every time, about 0.5 µs).
  const byStatus = new Map<number, { status: string; n: number }>();
  for (const [name, value] of Object.entries(VerifyStatus)) {
    if (typeof value !== "number" || value === VerifyStatus.UNSPECIFIED) continue;
    byStatus.set(value, { status: name, n: 0 });
  }
  new Counter({
    name: "tessera_verify_total",
    help: "Verify answers by status.",
    labelNames: ["status"],
    registers: [registry],
    collect() {
      this.reset();
      for (const { status, n } of byStatus.values()) this.inc({ status }, n);
    },
  });
  const queries = new Counter({
    name: "tessera_token_lookup_queries_total",
    help: "Database round trips made by token lookups, Verify's and callers' alike (one may answer a batch of lookups).",
    registers: [registry],
  });
  const verifyLookups = new Counter({
    name: "tessera_verify_db_lookups_total",
    help: "Verify lookups the cache could not answer, sent to the database.",
    registers: [registry],
  });
  const callerLookups = new Counter({
    name: "tessera_caller_db_lookups_total",
    help: "Caller authentications (admin calls, and the verifier token of Verify calls) the cache could not answer, sent to the database.",
    registers: [registry],
  });
  counterFrom(registry, "tessera_verify_cache_hits_total", "Verify cache hits.", () => o.cache.hits);
  counterFrom(registry, "tessera_verify_cache_misses_total", "Verify cache misses.", () => o.cache.misses);
  gaugeFrom(registry, "tessera_verify_cache_entries", "Entries in the Verify cache.", () => o.cache.size);
  counterFrom(registry, "tessera_revocation_events_read_total", "Revocation events read from the feed.", () => o.hub.eventsRead);
  gaugeFrom(
    registry,
    "tessera_revocation_feed_fresh",
    "1 while the instance follows the revocation feed (caches may answer), else 0.",
    () => (o.hub.fresh() ? 1 : 0),
  );
  const propagation = new Histogram({
    name: "tessera_revocation_propagation_seconds",
    help: "Time from a revocation event's append (within its transaction's last statements) to this instance applying it from the feed (cache evicted, streams woken).",
    // LISTEN/NOTIFY wakes instances within milliseconds; the poll bounds a lost wake-up at ~1 s.
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  o.hub.onApplied((events, appliedAt) => {
    for (const e of events) propagation.observe(Math.max(0, appliedAt - e.createdAt.getTime()) / 1000);
  });
  gaugeFrom(registry, "tessera_revocation_subscribers", "Open WatchRevocations streams.", () => o.hub.subscribers);
  gaugeFrom(
    registry,
    "tessera_db_pool_connections_in_use",
    "Database connections checked out by a query or transaction.",
    () => poolUsage(o.db).inUse,
  );
  gaugeFrom(registry, "tessera_db_pool_connections_idle", "Open database connections waiting in the pool.", () => poolUsage(o.db).idle);
  gaugeFrom(
    registry,
    "tessera_db_pool_waiting",
    "Queries waiting for a database connection (the pool is full and busy).",
    () => poolUsage(o.db).waiting,
  );
  const edgeDecisions = new Counter({
    name: "tessera_edge_decisions_total",
    help: "Envoy ext_authz and forward-auth answers by edge and status.",
    labelNames: ["edge", "status"],
    registers: [registry],
  });
  const edges = new Map<string, Counter.Internal>();
  const onEdge = (edge: string) => (status: string) => {
    // Statuses are the edge checker's fixed set, never anything from a request.
    const key = `${edge}\u0000${status}`;
    let count = edges.get(key);
    if (count === undefined) edges.set(key, (count = edgeDecisions.labels({ edge, status })));
    count.inc();
  };
  // Registered last: prom-client collects in registration order, and this one query takes a pool
  // connection, which the pool gauges above must not see as their own use.
  new Gauge({
    name: "tessera_revocation_feed_lag_seconds",
    help: "Seconds since the oldest revocation event this instance has not yet read was appended; 0 when caught up, NaN when the database does not answer within a second.",
    registers: [registry],
    async collect() {
      this.set(await withinASecond(o.hub.lagSeconds()));
    },
  });
  return {
    registry,
    render: () => renderMetrics(registry),
    onEdge,
    onVerify: (status) => {
      const s = byStatus.get(status);
      if (s !== undefined) s.n++;
    },
    onQuery: () => queries.inc(),
    onDbLookup: (purpose) => (purpose === "verify" ? verifyLookups : callerLookups).inc(),
  };
}

/** A scrape must not hang on a database that does not answer: NaN (unknown) after a second. */
async function withinASecond(p: Promise<number>): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<number>((resolve) => {
    timer = setTimeout(() => resolve(Number.NaN), 1000);
  });
  try {
    return await Promise.race([p.catch(() => Number.NaN), late]);
  } finally {
    clearTimeout(timer);
  }
}

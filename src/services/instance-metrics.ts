/** The metrics one Tessera instance exposes on GET /metrics. */
import { Counter } from "prom-client";
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

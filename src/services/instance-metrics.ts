/** The metrics one Tessera instance exposes on GET /metrics. */
import { VerifyStatus } from "../gen/tessera/v1/token_verify_service_pb.js";
import { Metrics } from "./metrics.js";
import type { RevocationHub } from "./revocation-hub.js";
import type { VerifyCache } from "./verify-cache.js";

export interface InstanceMetrics {
  render(): string;
  onVerify(status: number): void;
  onQuery(): void;
  /** Told each decision of an edge (`ext_authz`, `forward_auth`): VALID or its refusal's status. */
  onEdge(edge: "ext_authz" | "forward_auth"): (status: string) => void;
}

export function createInstanceMetrics(o: { cache: VerifyCache; hub: RevocationHub }): InstanceMetrics {
  const m = new Metrics();
  const byStatus = new Map<number, (by?: number) => void>();
  for (const [name, value] of Object.entries(VerifyStatus)) {
    if (typeof value !== "number" || value === VerifyStatus.UNSPECIFIED) continue;
    byStatus.set(value, m.counter("tessera_verify_total", "Verify answers by status.", { status: name }));
  }
  const queries = m.counter("tessera_verify_db_lookups_total", "Database round trips made by Verify and caller lookups (cache misses).");
  m.counterFrom("tessera_verify_cache_hits_total", "Verify cache hits.", () => o.cache.hits);
  m.counterFrom("tessera_verify_cache_misses_total", "Verify cache misses.", () => o.cache.misses);
  m.gauge("tessera_verify_cache_entries", "Entries in the Verify cache.", () => o.cache.size);
  m.counterFrom("tessera_revocation_events_read_total", "Revocation events read from the feed.", () => o.hub.eventsRead);
  m.gauge("tessera_revocation_feed_fresh", "1 while the instance follows the revocation feed (caches may answer), else 0.", () =>
    o.hub.fresh() ? 1 : 0,
  );
  m.gauge("tessera_revocation_subscribers", "Open WatchRevocations streams.", () => o.hub.subscribers);
  m.gauge("process_resident_memory_bytes", "Resident memory of the process.", () => process.memoryUsage.rss());
  m.gauge("nodejs_heap_used_bytes", "V8 heap in use.", () => process.memoryUsage().heapUsed);
  const edges = new Map<string, (by?: number) => void>();
  const onEdge = (edge: string) => (status: string) => {
    // Statuses are the edge checker's fixed set, never anything from a request.
    const key = `${edge}\u0000${status}`;
    let count = edges.get(key);
    if (count === undefined) {
      count = m.counter("tessera_edge_decisions_total", "Envoy ext_authz and forward-auth answers by edge and status.", { edge, status });
      edges.set(key, count);
    }
    count();
  };
  return {
    render: () => m.render(),
    onEdge,
    onVerify: (status) => byStatus.get(status)?.(),
    onQuery: () => queries(),
  };
}

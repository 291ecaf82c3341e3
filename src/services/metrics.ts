/**
 * Prometheus metrics for GET /metrics on the HTTP port, on prom-client: it names, types and
 * escapes label values per the exposition format. Each instance keeps a registry of its own, not
 * prom-client's global one, so several servers in one process (the tests) never share series.
 * Labels never carry token values, names or ids: only fixed sets (statuses, reasons, RPC names).
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";

export type { Registry };

/** A registry with prom-client's process, GC and event-loop metrics on it. */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** The registry in Prometheus text format, with its content type. */
export async function renderMetrics(registry: Registry): Promise<{ contentType: string; body: string }> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}

/** A gauge read at scrape time. */
export function gaugeFrom(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

/** A counter kept elsewhere (a cache's hit count, say), read at scrape time. */
export function counterFrom(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      // prom-client counters only go up by inc(): start from zero and add what the source counted.
      this.reset();
      this.inc(read());
    },
  });
}

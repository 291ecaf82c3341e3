/**
 * GET /metrics under `serve --workers N`: one answer for the whole server, not one worker's.
 *
 * Each worker keeps its own registry (its own cache, pool and feed), and the primary hands each
 * connection to one worker. A scraper that reconnects between scrapes (Prometheus's 15 s
 * interval outlasts Node's keep-alive) would otherwise read a different worker each time, its
 * counters jumping up and down, and `rate()` would be nonsense. So the worker a scrape reaches
 * asks the primary, the primary asks every serving worker for its registry as JSON and merges
 * them with prom-client's AggregatorRegistry.aggregate: counters and histograms add up, and the
 * gauges whose sum means nothing say how they combine (below).
 */
import { AggregatorRegistry, type Registry } from "prom-client";

type MetricsJson = Awaited<ReturnType<Registry["getMetricsAsJSON"]>>;

/** Worker → primary, primary → workers and back. Tagged like the rest of cluster.ts's messages. */
export type MetricsToPrimary =
  | { tessera: "metrics_request"; request: number }
  | { tessera: "metrics_part"; collection: number; metrics: MetricsJson | null };
export type MetricsToWorker =
  | { tessera: "metrics_collect"; collection: number }
  | { tessera: "metrics_reply"; request: number; body: string | null };

/** A worker that has not answered by then is stuck: the scrape fails instead of undercounting. */
const COLLECT_TIMEOUT_MS = 3_000;

/**
 * Gauges that are not totals. The rest add up: connections, cache entries, subscribers, memory
 * and CPU are the server's as the sum of its processes'.
 */
const COMBINE: Record<string, "max" | "min" | "first"> = {
  tessera_revocation_feed_lag_seconds: "max", // the server is as far behind as its slowest worker
  tessera_revocation_feed_fresh: "min", // fresh only while every worker follows the feed
  process_start_time_seconds: "min",
  process_max_fds: "first",
  nodejs_version_info: "first",
};

/** The merged text of every worker's registry. */
function mergeRegistries(parts: MetricsJson[]): string | Promise<string> {
  for (const part of parts) for (const m of part) if (Object.hasOwn(COMBINE, m.name)) m.aggregator = COMBINE[m.name]!;
  return AggregatorRegistry.aggregate(parts).metrics();
}

interface Member {
  send(message: MetricsToWorker): void;
}

/**
 * The primary's side: on a worker's request, collects from every serving worker and replies
 * with the merged text, or with null when one does not answer in time (the worker answers 500).
 */
export function createMetricsBroker(serving: () => Member[]) {
  let next = 0;
  const collections = new Map<number, { parts: MetricsJson[]; pending: number; finish: (ok: boolean) => void }>();
  return {
    /** Handles a worker's message; false when it is not one of these. */
    onMessage(from: Member, m: MetricsToPrimary): boolean {
      if (m?.tessera === "metrics_request") {
        void collect().then((body) => from.send({ tessera: "metrics_reply", request: m.request, body }));
        return true;
      }
      if (m?.tessera === "metrics_part") {
        const c = collections.get(m.collection);
        if (c === undefined) return true; // answered after the timeout
        if (m.metrics === null) c.finish(false);
        else {
          c.parts.push(m.metrics);
          if (--c.pending === 0) c.finish(true);
        }
        return true;
      }
      return false;
    },
  };

  function collect(): Promise<string | null> {
    const members = serving();
    if (members.length === 0) return Promise.resolve(null);
    const id = next++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => c.finish(false), COLLECT_TIMEOUT_MS);
      const c = {
        parts: [] as MetricsJson[],
        pending: members.length,
        finish: (ok: boolean) => {
          if (!collections.delete(id)) return;
          clearTimeout(timer);
          if (!ok) return resolve(null);
          Promise.resolve(mergeRegistries(c.parts)).then(resolve, () => resolve(null));
        },
      };
      collections.set(id, c);
      for (const w of members) w.send({ tessera: "metrics_collect", collection: id });
    });
  }
}

/**
 * The worker's side: answers the primary's collections from its own registry, and renders
 * /metrics by asking the primary for everyone's.
 */
export function createWorkerMetrics(send: (m: MetricsToPrimary) => void, own: () => Promise<MetricsJson> | undefined) {
  let next = 0;
  const waiting = new Map<number, (body: string | null) => void>();
  return {
    onMessage(m: MetricsToWorker): boolean {
      if (m?.tessera === "metrics_collect") {
        const mine = own();
        if (mine === undefined) send({ tessera: "metrics_part", collection: m.collection, metrics: [] });
        else
          mine.then(
            (metrics) => send({ tessera: "metrics_part", collection: m.collection, metrics }),
            () => send({ tessera: "metrics_part", collection: m.collection, metrics: null }),
          );
        return true;
      }
      if (m?.tessera === "metrics_reply") {
        waiting.get(m.request)?.(m.body);
        waiting.delete(m.request);
        return true;
      }
      return false;
    },
    /** GET /metrics: the whole server's metrics; rejects when they cannot all be had. */
    render(): Promise<{ contentType: string; body: string }> {
      const request = next++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(request);
          reject(new Error("the primary did not answer"));
        }, COLLECT_TIMEOUT_MS * 2);
        waiting.set(request, (body) => {
          clearTimeout(timer);
          if (body === null) reject(new Error("a worker did not answer"));
          else resolve({ contentType: AggregatorRegistry.PROMETHEUS_CONTENT_TYPE, body });
        });
        send({ tessera: "metrics_request", request });
      });
    },
  };
}

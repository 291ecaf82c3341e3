/** Small statistics helpers: medians and ranges over repetitions, percentiles over latencies. */

export interface Summary {
  median: number;
  min: number;
  max: number;
  values: number[];
}

export function summarize(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: median(sorted), min: sorted[0] ?? NaN, max: sorted[sorted.length - 1] ?? NaN, values };
}

/** Median of already sorted values. */
function median(sorted: number[]): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const mid = n >> 1;
  return n % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** Nearest-rank percentiles of latencies (any unit); sorts `values` in place. */
export function percentiles(values: Float64Array | number[]): Percentiles {
  const a = values instanceof Float64Array ? values : Float64Array.from(values);
  a.sort();
  const at = (p: number): number => (a.length === 0 ? NaN : a[Math.min(a.length - 1, Math.max(0, Math.ceil(p * a.length) - 1))]!);
  return { count: a.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), max: a.length ? a[a.length - 1]! : NaN };
}

/** Median of each percentile across repetitions. */
export function medianPercentiles(runs: Percentiles[]): Percentiles {
  const m = (k: keyof Percentiles): number => summarize(runs.map((r) => r[k])).median;
  return { count: runs.reduce((s, r) => s + r.count, 0), p50: m("p50"), p90: m("p90"), p99: m("p99"), p999: m("p999"), max: m("max") };
}

/**
 * Prometheus metrics, in text exposition format, for GET /metrics on the HTTP port. Counters are
 * plain numbers bumped on hot paths (no allocation per increment); gauges are read when scraped.
 * Labels never carry token values, names or ids: only fixed sets (statuses, reasons).
 */
export type Labels = Record<string, string>;

interface Family {
  help: string;
  type: "counter" | "gauge";
  samples: Map<string, { labels: Labels; value: number | (() => number) }>;
}

export class Metrics {
  readonly #families = new Map<string, Family>();

  #family(name: string, help: string, type: Family["type"]): Family {
    let f = this.#families.get(name);
    if (f === undefined) this.#families.set(name, (f = { help, type, samples: new Map() }));
    return f;
  }

  /** A counter; returns the function that increments it (hold on to it on hot paths). */
  counter(name: string, help: string, labels: Labels = {}): (by?: number) => void {
    const f = this.#family(name, help, "counter");
    const key = JSON.stringify(labels);
    const sample = { labels, value: 0 };
    f.samples.set(key, sample);
    return (by = 1) => {
      sample.value += by;
    };
  }

  /** A gauge read at scrape time. */
  gauge(name: string, help: string, read: () => number, labels: Labels = {}): void {
    this.#family(name, help, "gauge").samples.set(JSON.stringify(labels), { labels, value: read });
  }

  /** A counter kept elsewhere (a cache's hit count, say), read at scrape time. */
  counterFrom(name: string, help: string, read: () => number, labels: Labels = {}): void {
    this.#family(name, help, "counter").samples.set(JSON.stringify(labels), { labels, value: read });
  }

  render(): string {
    const out: string[] = [];
    for (const [name, f] of this.#families) {
      out.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`);
      for (const s of f.samples.values()) {
        const v = typeof s.value === "function" ? s.value() : s.value;
        const l = Object.entries(s.labels).map(([k, val]) => `${k}="${val.replace(/["\\\n]/g, "_")}"`);
        out.push(`${name}${l.length ? `{${l.join(",")}}` : ""} ${Number.isFinite(v) ? v : 0}`);
      }
    }
    return out.join("\n") + "\n";
  }
}

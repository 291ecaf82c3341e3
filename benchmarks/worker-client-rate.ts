/**
 * Child process: the in-process cached verify rate of the worker client (src/client/worker-client.ts),
 * measured in a process of its own so nothing else shares its core or heap. The runner sends
 * { address, verifierToken, token, warmupMs, durationMs } and gets back the rate.
 */
interface Args {
  address: string;
  verifierToken: string;
  token: string;
  warmupMs: number;
  durationMs: number;
  reps: number;
}

export interface WorkerClientRate {
  verifies: number;
  durationMs: number;
  rate: number;
  /** CPU time / wall time over the window: ~1 means one core. */
  coreShare: number;
  fromCache: number;
  status: string;
}

type Decision = { allowed: boolean; status: unknown; fromCache: boolean };
type Mod = {
  createWorkerClient(o: { address: string; verifierToken: string }): {
    ready(): Promise<void>;
    verify(r: { credential: string; endpoint: number }): Promise<Decision>;
    close(): Promise<void>;
  };
  EndpointClass: { INGEST: number };
};

async function measure(a: Args): Promise<WorkerClientRate[]> {
  const mod = (await import(new URL("../src/client/worker-client.js", import.meta.url).href)) as Mod;
  const client = mod.createWorkerClient({ address: a.address, verifierToken: a.verifierToken });
  try {
    await client.ready();
    const req = { credential: `Bearer ${a.token}`, endpoint: mod.EndpointClass.INGEST };
    const first = await client.verify(req);
    if (!first.allowed) throw new Error(`worker client: the token was refused (${String(first.status)})`);
    const run = async (ms: number) => {
      let n = 0;
      let cached = 0;
      const end = performance.now() + ms;
      // Sequential awaits, as a request handler would call it; the clock is read every 1000.
      while (performance.now() < end) {
        for (let i = 0; i < 1000; i++) {
          const d = await client.verify(req);
          if (d.fromCache) cached++;
        }
        n += 1000;
      }
      return { n, cached };
    };
    await run(a.warmupMs);
    const out: WorkerClientRate[] = [];
    for (let r = 0; r < a.reps; r++) {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const { n, cached } = await run(a.durationMs);
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      out.push({
        verifies: n,
        durationMs: ms,
        rate: (n / ms) * 1000,
        coreShare: (cpu.user + cpu.system) / 1000 / ms,
        fromCache: cached,
        status: String(first.status),
      });
    }
    return out;
  } finally {
    await client.close();
  }
}

process.once("message", (a: Args) => {
  measure(a).then(
    (r) => process.send!({ ok: true, result: r }, () => process.exit(0)),
    (err: unknown) => process.send!({ ok: false, error: err instanceof Error ? err.message : String(err) }, () => process.exit(1)),
  );
});
process.on("disconnect", () => process.exit(1));

/**
 * `npm run fuzz -- [--count 100000] [--seed N] [--only 12,345] [--concurrency 8] [--show CODE,…] [--rss-limit-mb 64]`
 *
 * The long fuzz run: its own embedded PostgreSQL (as the test suite starts it) and an in-process
 * server, then the same check as the test, printing counts by code per listener/wire/protocol.
 * Exits 1 on any INTERNAL/UNKNOWN, unclean message, unmet expectation, failed probe, internal
 * error in the log or RSS growth. `--only` replays single cases of a seed and prints them in full
 * (memory is not judged then); `--show` prints a few cases that got each of the given codes.
 */
import { mochaGlobalSetup, mochaGlobalTeardown } from "../helpers/global-fixture.js";
import { grpcJsClients } from "../helpers/clients.js";
import { startTestServer } from "../helpers/server.js";
import { fullText, fuzzAndCheck } from "./check.js";
import { MiB, seedServer } from "./engine.js";
import { fuzzServerConfig } from "./server-config.js";
import { randomSeed } from "./prng.js";

function args(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${a}`);
    const [k, v] = a.includes("=") ? (a.slice(2).split("=", 2) as [string, string]) : [a.slice(2), argv[++i] ?? ""];
    out[k] = v;
  }
  return out;
}

function int(v: string | undefined, fallback: number, name: string): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
}

const a = args(process.argv.slice(2));
const seed = int(a["seed"] ?? process.env.FUZZ_SEED, randomSeed(), "seed") >>> 0;
const count = int(a["count"], 100_000, "count");
const only = a["only"]?.split(",").map((s) => int(s.trim(), 0, "only"));
const concurrency = int(a["concurrency"], 8, "concurrency");
console.log(`fuzz: seed ${seed} (replay with --seed ${seed})`);

await mochaGlobalSetup();
// Ctrl-C: stop PostgreSQL too, rather than leave it running in .test-pg/.
process.once("SIGINT", () => void mochaGlobalTeardown().finally(() => process.exit(130)));
let exitCode = 1;
try {
  const server = await startTestServer({ configure: fuzzServerConfig });
  const c = grpcJsClients(server.tessera.grpcPort);
  try {
    const seeded = await seedServer(c);
    const total = only?.length ?? count;
    let last = Date.now();
    const v = await fuzzAndCheck(
      { ports: { grpcPort: server.tessera.grpcPort, httpPort: server.tessera.httpPort }, logs: server.logs },
      seeded,
      {
        seed,
        count,
        concurrency,
        timeoutMs: 30_000,
        rssGrowthLimitBytes: int(a["rss-limit-mb"], 64, "rss-limit-mb") * MiB,
        ...(only && { only }),
        ...(a["show"] !== undefined && { show: a["show"].split(",") }),
        onProgress: (done) => {
          if (Date.now() - last < 10_000 && done !== total) return;
          last = Date.now();
          process.stderr.write(`fuzz: ${done}/${total}, RSS ${(process.memoryUsage().rss / MiB).toFixed(0)} MiB\n`);
        },
      },
    );
    console.log(fullText(v));
    exitCode = v.problems.length === 0 ? 0 : 1;
  } finally {
    c.close();
    await server.close();
  }
} finally {
  await mochaGlobalTeardown();
}
process.exit(exitCode);

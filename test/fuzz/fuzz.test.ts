/**
 * Issue 10, "no caller can hurt another": a bounded fuzz run against a real server, on both
 * listeners and every protocol. Seeded: the seed is printed, FUZZ_SEED replays it, FUZZ_COUNT
 * changes the number of inputs (4,000 by default: 15–40 s on two busy cores). `npm run fuzz` is
 * the long version. The run happens once, in `before`; each `it` judges one property of it.
 */
import assert from "node:assert/strict";
import { grpcJsClients, type Clients } from "../helpers/clients.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { fuzzAndCheck, kindsWith, rssGrowth, type Verdict } from "./check.js";
import { MiB, seedServer } from "./engine.js";
import { randomSeed } from "./prng.js";
import { formatKinds } from "./report.js";
import { fuzzServerConfig } from "./server-config.js";

function envInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return undefined;
  if (!/^\d{1,10}$/.test(raw)) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

const seed = (envInt("FUZZ_SEED") ?? randomSeed()) >>> 0;
const count = envInt("FUZZ_COUNT") ?? 4000;
/**
 * What RSS may grow by over the second half of the run (measured after a full GC). Loose on
 * purpose: with the heap flat to 1 MiB, RSS still moved by 1–31 MiB between halves in ten runs
 * here (native allocations: HTTP/2 sessions, zlib, the allocator's arenas). Here it catches gross
 * leaks; `npm run fuzz` allows 64 MiB over 50,000 inputs, where 1 KiB kept per input would cross it.
 */
const RSS_GROWTH_LIMIT = 96 * MiB;

describe(`fuzz (seed ${seed}; replay with FUZZ_SEED=${seed})`, function () {
  // A hang guard, not a performance assertion.
  this.timeout(10 * 60_000);
  let server: TestServer;
  let c: Clients;
  let v: Verdict;

  before(async () => {
    server = await startTestServer({ configure: fuzzServerConfig });
    c = grpcJsClients(server.tessera.grpcPort);
    const seeded = await seedServer(c);
    v = await fuzzAndCheck({ ports: { grpcPort: server.tessera.grpcPort, httpPort: server.tessera.httpPort }, logs: server.logs }, seeded, {
      seed,
      count,
      concurrency: 8,
      // Loopback answers take milliseconds; 15 s only says "hung", even on a busy machine.
      timeoutMs: 15_000,
      rssGrowthLimitBytes: RSS_GROWTH_LIMIT,
    });
    console.log(v.summary.replace(/^/gm, "      "));
  });

  after(async () => {
    c?.close();
    await server?.close();
  });

  const failing = (rules: string[], what: string) => {
    const kinds = kindsWith(v, rules);
    const n = kinds.reduce((a, k) => a + k.count, 0);
    assert.ok(kinds.length === 0, `seed ${seed}: ${n} input(s) ${what}, ${kinds.length} kind(s):\n${formatKinds(kinds, seed)}`);
  };

  it("answers no input on any listener or protocol with INTERNAL or UNKNOWN, and answers every one", () => {
    failing(["INTERNAL", "UNKNOWN", "HTTP_500", "RST_INTERNAL_ERROR", "TIMEOUT"], "got INTERNAL, UNKNOWN or no answer");
  });

  it("answers with messages that hold no stack trace, SQL, file path or echo of the input", () => {
    failing(["STACK", "SQL", "PATH", "ECHO"], "got an unclean message");
  });

  it("answers INVALID_ARGUMENT to malformed bodies and UNAUTHENTICATED to two authorization values", () => {
    failing(["EXPECTED"], "got another answer than the one the input calls for");
  });

  it("logs no internal error (and so no stack trace) for any input", () => {
    assert.ok(
      v.internalLogs.length === 0,
      `seed ${seed}: internal errors logged:\n${v.internalLogs.map(([w, n]) => `× ${n}  ${w}`).join("\n")}`,
    );
  });

  it("still answers a Verify of a good token with VALID on both ports afterwards", () => {
    assert.ok(v.probeProblems.length === 0, `seed ${seed}: ${v.probeProblems.join("\n")}`);
  });

  it("keeps its RSS stable: no growth beyond a bound over the second half of the inputs", () => {
    assert.ok(v.memory !== undefined);
    assert.ok(
      rssGrowth(v.memory) <= RSS_GROWTH_LIMIT,
      `seed ${seed}: RSS grew by ${(rssGrowth(v.memory) / MiB).toFixed(1)} MiB (limit ${RSS_GROWTH_LIMIT / MiB} MiB)`,
    );
  });
});

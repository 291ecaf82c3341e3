/**
 * The batcher shared by every Verify miss: one caller's failing request never fails the others
 * batched with it, and an outage fails everyone at once without a retry storm. Against a real
 * PostgreSQL, with a statement that fails for one member's input the way a NUL byte once did.
 */
import assert from "node:assert/strict";
import pg from "pg";
import { createBatcher } from "../../src/services/batcher.js";
import { freshDatabase, type TestDatabase } from "../helpers/db.js";

describe("the lookup batcher", () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  before(async () => {
    db = await freshDatabase();
    pool = new pg.Pool({ connectionString: db.appUrl, max: 4 });
  });
  after(async () => {
    // pool.end() resolves once its clients have left its list, not once their connections have
    // closed; DROP DATABASE … WITH (FORCE) could then terminate one still closing, and that
    // client's error, with no listener left, fails whichever test runs next. Wait for every
    // client's "remove", which the pool emits when the connection has really ended.
    const open = pool.totalCount;
    let removed = 0;
    const gone = new Promise<void>((resolve) => {
      if (open === 0) resolve();
      pool.on("remove", () => {
        if (++removed === open) resolve();
      });
    });
    await pool.end();
    await gone;
    await db.drop();
  });

  /** One statement for a whole batch: each member's text cast to an integer (so "x" fails the statement). */
  const castAll = (runs: { n: number }) =>
    createBatcher<string, number>({
      run: async (batch) =>
        (
          await pool.query<{ v: number }>("SELECT v::int AS v FROM unnest($1::text[]) WITH ORDINALITY AS t(v, i) ORDER BY i", [batch])
        ).rows.map((r) => r.v),
      failsAll: (err) => (err as { code?: string }).code === "ECONNREFUSED",
      maxBatch: 64,
      maxInFlight: 4,
      onRun: () => runs.n++,
    });

  it("answers a batch in one round trip", async () => {
    const runs = { n: 0 };
    const ask = castAll(runs);
    const answers = await Promise.all(["1", "2", "3", "4", "5"].map(ask));
    assert.deepEqual(answers, [1, 2, 3, 4, 5]);
    assert.equal(runs.n, 1);
  });

  it("fails only the member whose input breaks the statement, and answers the others", async () => {
    const runs = { n: 0 };
    const ask = castAll(runs);
    const inputs = ["10", "11", "not a number", "13", "14", "15", "16", "17", "18", "19", "20", "21"];
    const settled = await Promise.allSettled(inputs.map(ask));
    assert.equal(settled[2]!.status, "rejected");
    const others = settled.filter((_, i) => i !== 2);
    assert.deepEqual(
      others.map((s) => (s.status === "fulfilled" ? s.value : "failed")),
      [10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21],
    );
    // The batch, then each member once on its own.
    assert.equal(runs.n, 1 + inputs.length);
  });

  it("fails every member at once, with no retries, when the failure is shared by all", async () => {
    let runs = 0;
    const down = new Error("connect ECONNREFUSED") as Error & { code: string };
    down.code = "ECONNREFUSED";
    const ask = createBatcher<string, number>({
      run: async () => {
        runs++;
        throw down;
      },
      failsAll: (err) => err === down,
      maxBatch: 64,
      maxInFlight: 4,
    });
    const settled = await Promise.allSettled(["1", "2", "3"].map(ask));
    assert.deepEqual(
      settled.map((s) => s.status),
      ["rejected", "rejected", "rejected"],
    );
    assert.equal(runs, 1);
  });

  it("keeps at most maxInFlight round trips and gathers what waits into the next batch", async () => {
    let inFlight = 0;
    let most = 0;
    const sizes: number[] = [];
    const ask = createBatcher<string, number>({
      run: async (batch) => {
        inFlight++;
        most = Math.max(most, inFlight);
        sizes.push(batch.length);
        try {
          // pg_sleep holds the round trip open long enough for later callers to queue behind it.
          return (
            await pool.query<{ v: number }>(
              "SELECT v::int AS v, pg_sleep(0.05) FROM unnest($1::text[]) WITH ORDINALITY AS t(v, i) ORDER BY i",
              [batch],
            )
          ).rows.map((r) => r.v);
        } finally {
          inFlight--;
        }
      },
      failsAll: () => false,
      maxBatch: 64,
      maxInFlight: 1,
    });
    const first = ask("1");
    await new Promise((r) => setImmediate(r));
    const rest = Array.from({ length: 10 }, (_, i) => ask(String(i + 2)));
    assert.deepEqual(
      await Promise.all([first, ...rest]),
      Array.from({ length: 11 }, (_, i) => i + 1),
    );
    assert.equal(most, 1);
    assert.deepEqual(sizes, [1, 10]);
  });
});

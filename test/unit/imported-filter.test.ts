/**
 * The imported-value filter (src/services/imported-filter.ts) over a scripted pool: membership
 * through growth, every live key's digest, and when it may rule a value out (loaded, no fetch in
 * flight, none failed since the last complete load).
 */
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import type { Database } from "../../src/store/database.js";
import { createImportedFilter } from "../../src/services/imported-filter.js";
import { eventually } from "../helpers/wait.js";

/** A pool answering the filter's two queries from `rows` (prefixes by token id); `fail` makes it throw. */
function scriptedDb(rows: Map<string, Buffer>) {
  const state = { fail: false, hold: undefined as Promise<void> | undefined, queries: 0 };
  const pool = {
    async query(text: string, values: unknown[]) {
      state.queries++;
      if (state.hold) await state.hold;
      if (state.fail) throw new Error("connection terminated");
      if (text.includes("tessera_imported_prefixes_of")) {
        const ids = values[0] as string[];
        return { rows: ids.filter((id) => rows.has(id)).map((id) => ({ prefix: rows.get(id)! })) };
      }
      const after = Number(values[0]);
      const limit = Number(values[1]);
      const all = [...rows.values()].map((prefix, i) => ({ seq: String(i + 1), prefix }));
      return { rows: all.filter((r) => Number(r.seq) > after).slice(0, limit) };
    },
  };
  return { db: { pool } as unknown as Database, state };
}

const latin1 = (b: Buffer) => b.toString("latin1");

describe("imported-value filter", () => {
  it("knows every loaded prefix through many growths, and rules out other digests", async () => {
    const rows = new Map<string, Buffer>();
    for (let i = 0; i < 30_000; i++) rows.set(randomUUID(), randomBytes(32));
    rows.set(randomUUID(), Buffer.alloc(32)); // a digest starting with eight zero bytes
    const { db } = scriptedDb(rows);
    const f = createImportedFilter({ db, log: () => undefined });
    assert.equal(f.rulesOut(latin1(randomBytes(32)), []), false, "not loaded yet: never rules out");
    await f.load();
    assert.ok(f.ready);
    assert.equal(f.size, rows.size);
    for (const d of rows.values()) assert.equal(f.rulesOut(latin1(d), []), false);
    let ruledOut = 0;
    for (let i = 0; i < 10_000; i++) if (f.rulesOut(latin1(randomBytes(32)), [])) ruledOut++;
    assert.equal(ruledOut, 10_000, "random digests are ruled out");
    f.close();
  });

  it("checks the older keys' digests too: a known prefix under any key means look it up", async () => {
    const known = randomBytes(32);
    const { db } = scriptedDb(new Map([[randomUUID(), known]]));
    const f = createImportedFilter({ db, log: () => undefined });
    await f.load();
    assert.equal(f.rulesOut(latin1(randomBytes(32)), [randomBytes(32), known]), false);
    assert.equal(f.rulesOut(latin1(randomBytes(32)), [randomBytes(32), randomBytes(32)]), true);
    f.close();
  });

  it("is unsure while a fetch for an ENABLED token is in flight, and knows the token after it", async () => {
    const rows = new Map<string, Buffer>();
    const { db, state } = scriptedDb(rows);
    const f = createImportedFilter({ db, log: () => undefined });
    await f.load();
    const id = randomUUID();
    const digest = randomBytes(32);
    rows.set(id, digest);
    let release!: () => void;
    state.hold = new Promise((r) => (release = r));
    f.apply([{ tokenId: id, reason: "ENABLED" }]);
    assert.equal(f.rulesOut(latin1(randomBytes(32)), []), false, "unsure while fetching");
    state.hold = undefined;
    release();
    await eventually(() => f.ready, undefined, "the fetch to end");
    assert.equal(f.rulesOut(latin1(digest), []), false, "the new token is known");
    assert.equal(f.rulesOut(latin1(randomBytes(32)), []), true);
    const before = state.queries;
    f.apply([{ tokenId: randomUUID(), reason: "DISABLED" }]);
    assert.equal(state.queries, before, "only ENABLED events fetch");
    f.close();
  });

  it("skips the fetch for tokens this instance created itself", async () => {
    const { db, state } = scriptedDb(new Map());
    const f = createImportedFilter({ db, log: () => undefined });
    await f.load();
    const mine = randomUUID();
    const digest = randomBytes(32);
    f.add(mine, digest);
    const generated = randomUUID();
    f.add(generated, undefined);
    const before = state.queries;
    f.apply([
      { tokenId: mine, reason: "ENABLED" },
      { tokenId: generated, reason: "ENABLED" },
    ]);
    assert.equal(state.queries, before);
    assert.ok(f.ready);
    assert.equal(f.rulesOut(latin1(digest), []), false);
    f.close();
  });

  it("stays unsure after a failed fetch until a complete reload succeeds", async () => {
    const rows = new Map<string, Buffer>();
    const { db, state } = scriptedDb(rows);
    const logs: string[] = [];
    const f = createImportedFilter({ db, log: (event) => void logs.push(event) });
    await f.load();
    const id = randomUUID();
    const digest = randomBytes(32);
    rows.set(id, digest);
    state.fail = true;
    f.apply([{ tokenId: id, reason: "ENABLED" }]);
    await eventually(() => logs.includes("imported_filter_fetch_failed"), undefined, "the fetch to fail");
    assert.equal(f.ready, false);
    assert.equal(f.rulesOut(latin1(randomBytes(32)), []), false, "unsure after a failure");
    state.fail = false;
    await eventually(() => f.ready, 10_000, "the retried load");
    assert.ok(logs.includes("imported_filter_recovered"));
    assert.equal(f.rulesOut(latin1(digest), []), false, "the reload found the token the failed fetch missed");
    f.close();
  });
});

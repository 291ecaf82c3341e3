/**
 * The feed's two metrics read back from GET /metrics: the propagation delay (event appended to
 * applied by this instance) and the lag (how long ago the oldest event not yet read was appended).
 * The feed is stalled honestly: a transaction left open holds the feed's safe horizon back, so
 * events committed after it cannot be read by any instance until it ends (migration 0002).
 */
import assert from "node:assert/strict";
import pg from "pg";
import { parseSamples, sampleValue } from "../helpers/prometheus-text.js";
import { useSetUpServer } from "../helpers/fixture.js";
import { createOrg } from "../helpers/seed.js";
import { eventually, sleep } from "../helpers/wait.js";

describe("feed lag and propagation metrics", () => {
  const f = useSetUpServer();

  const scrape = async () => {
    const r = await fetch(`http://127.0.0.1:${f.server.tessera.httpPort}/metrics`);
    assert.equal(r.status, 200);
    return parseSamples(await r.text());
  };
  const propagationCount = async () => sampleValue(await scrape(), "tessera_revocation_propagation_seconds_count");

  it("times each event from its append to this instance applying it", async () => {
    const org = await createOrg(f.c, f.inst.operatorToken);
    await f.server.tessera.deps.hub.wake();
    const before = await scrape();
    const count0 = sampleValue(before, "tessera_revocation_propagation_seconds_count");
    const sum0 = sampleValue(before, "tessera_revocation_propagation_seconds_sum");
    const t0 = performance.now();
    await f.c.admin.setTokenEnabled({ id: org.defaultTokenId, enabled: false }, org.adminToken);
    await eventually(async () => (await propagationCount()) >= count0 + 1, undefined, "the DISABLED event applied");
    const elapsed = (performance.now() - t0) / 1000;
    const after = await scrape();
    const added = sampleValue(after, "tessera_revocation_propagation_seconds_count") - count0;
    const mean = (sampleValue(after, "tessera_revocation_propagation_seconds_sum") - sum0) / added;
    // Applied after it was appended, and no later than we saw it counted (same machine, one clock).
    assert.ok(mean >= 0 && mean <= elapsed + 0.05, `mean delay ${mean}s, within the ${elapsed}s the call and the wait took`);
    const inf = sampleValue(after, "tessera_revocation_propagation_seconds_bucket", { le: "+Inf" });
    assert.equal(inf, sampleValue(after, "tessera_revocation_propagation_seconds_count"));
    assert.ok(sampleValue(after, "tessera_revocation_propagation_seconds_bucket", { le: "1" }) >= count0 + 1, "a delay under a second");
  });

  it("reads 0 lag when caught up, and a growing lag while a transaction holds the feed back", async () => {
    const org = await createOrg(f.c, f.inst.operatorToken);
    await f.server.tessera.deps.hub.wake();
    assert.equal(sampleValue(await scrape(), "tessera_revocation_feed_lag_seconds"), 0);

    const blocker = new pg.Client({ connectionString: f.server.db.ownerUrl });
    await blocker.connect();
    let open = false;
    try {
      await blocker.query("BEGIN");
      await blocker.query("SELECT pg_current_xact_id()"); // takes an xid: the horizon stays below it
      open = true;
      const count0 = await propagationCount();
      await f.c.admin.setTokenEnabled({ id: org.defaultTokenId, enabled: false }, org.adminToken);
      await sleep(300);
      await f.server.tessera.deps.hub.wake();
      const lag1 = sampleValue(await scrape(), "tessera_revocation_feed_lag_seconds");
      assert.ok(lag1 >= 0.25 && lag1 < 30, `lag ${lag1}s after 0.3 s stalled`);
      await sleep(500);
      const lag2 = sampleValue(await scrape(), "tessera_revocation_feed_lag_seconds");
      assert.ok(lag2 >= lag1 + 0.4, `the lag grows while stalled: ${lag1}s, then ${lag2}s`);
      assert.equal(await propagationCount(), count0, "nothing read past the horizon");

      await blocker.query("ROLLBACK");
      open = false;
      await eventually(async () => (await propagationCount()) >= count0 + 1, undefined, "the stalled event applied");
      const samples = await scrape();
      assert.equal(sampleValue(samples, "tessera_revocation_feed_lag_seconds"), 0, "caught up again");
      // The stalled event's delay counts the stall: it lands in a bucket above 0.5 s.
      assert.ok(
        sampleValue(samples, "tessera_revocation_propagation_seconds_bucket", { le: "0.5" }) <
          sampleValue(samples, "tessera_revocation_propagation_seconds_count"),
        "a delay over half a second was observed",
      );
    } finally {
      if (open) await blocker.query("ROLLBACK").catch(() => undefined);
      await blocker.end();
    }
  });

  it("declares both with their types", async () => {
    const r = await fetch(`http://127.0.0.1:${f.server.tessera.httpPort}/metrics`);
    const text = await r.text();
    assert.match(text, /# TYPE tessera_revocation_feed_lag_seconds gauge/);
    assert.match(text, /# TYPE tessera_revocation_propagation_seconds histogram/);
  });
});

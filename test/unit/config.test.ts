import assert from "node:assert/strict";
import path from "node:path";
import { ConfigError, loadConfig } from "../../src/config.js";

describe("configuration", () => {
  it("refuses a feed freshness bound that a quiet poll interval would outlast", () => {
    for (const env of [{ TESSERA_FEED_FRESH_MS: "1000" }, { TESSERA_FEED_FRESH_MS: "5000", TESSERA_FEED_POLL_MS: "5000" }]) {
      assert.throws(
        () => loadConfig({}, env),
        (e: unknown) =>
          e instanceof ConfigError && /TESSERA_FEED_FRESH_MS \(\d+\) must be longer than TESSERA_FEED_POLL_MS/.test(e.message),
        JSON.stringify(env),
      );
    }
  });

  it("accepts a freshness bound longer than the poll interval, and the defaults", () => {
    const c = loadConfig({}, { TESSERA_FEED_FRESH_MS: "1500", TESSERA_FEED_POLL_MS: "1000" });
    assert.equal(c.feed.freshMs, 1500);
    const d = loadConfig({}, {});
    assert.ok(d.feed.freshMs > d.feed.pollMs);
  });

  it("names an ingestion routes file only when TESSERA_INGESTION_ROUTES_FILE is set, as an absolute path", () => {
    assert.equal(loadConfig({}, {}).ingestionRoutesFile, undefined);
    assert.equal(loadConfig({}, { TESSERA_INGESTION_ROUTES_FILE: "" }).ingestionRoutesFile, undefined);
    assert.equal(loadConfig({}, { TESSERA_INGESTION_ROUTES_FILE: "routes.json" }).ingestionRoutesFile, path.resolve("routes.json"));
  });
});

/** The fuzzed server's configuration, shared by the test and the runner. */
import type { Config } from "../../src/config.js";

/**
 * Cases verify thousands of distinct unknown tokens; the Verify cache keeps each refusal for a
 * while. A small cap keeps that memory bounded and small, so RSS growth over the run measures
 * leaks, not a cache filling up as designed.
 */
export function fuzzServerConfig(c: Config): Config {
  // A WatchRevocations case is judged OK at its first message; with nothing to report that is a
  // checkpoint, after checkpointMs. A short one keeps streaming cases from holding the run up.
  return { ...c, cache: { ...c.cache, maxEntries: 5000 }, feed: { ...c.feed, checkpointMs: 100 } };
}

/** The test run's PostgreSQL cluster, shared by every file; set by the global fixture. */
import type { EmbeddedDatabase } from "../../src/store/embedded.js";

let cluster: EmbeddedDatabase | undefined;

export function setCluster(c: EmbeddedDatabase): void {
  cluster = c;
}

export function getCluster(): EmbeddedDatabase {
  if (cluster === undefined) throw new Error("the test cluster is not running: run tests through mocha's config (.mocharc.json)");
  return cluster;
}

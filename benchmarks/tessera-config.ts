/**
 * The configuration every benchmark gives a Tessera it starts: the defaults, loopback on free
 * ports, a given database and pool, no key file (callers pass the keyring), cache overrides.
 */
import { loadConfig, type Config } from "../src/config.js";
import type { CacheOverrides } from "./protocol.js";

export function benchTesseraConfig(o: {
  dataDir: string;
  appUrl: string;
  ownerUrl: string;
  poolSize: number;
  cache?: CacheOverrides;
}): Config {
  const base = loadConfig({}, {});
  return {
    ...base,
    host: "127.0.0.1",
    grpcPort: 0,
    httpPort: 0,
    dataDir: o.dataDir,
    databaseUrl: o.appUrl,
    ownerDatabaseUrl: o.ownerUrl,
    digestKeys: undefined,
    poolSize: o.poolSize,
    cache: { ...base.cache, ...o.cache },
  };
}

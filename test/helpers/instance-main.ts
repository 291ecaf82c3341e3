/**
 * A Tessera instance as its own process, for tests with several instances on one database.
 * Configured by the environment (DATABASE_URL, TESSERA_DIGEST_KEYS, …) exactly like `serve`;
 * prints one JSON line with its ports once serving, and shuts down cleanly on SIGTERM.
 */
import { startTessera } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import { silentLog } from "../../src/log.js";

const config = loadConfig({ "grpc-port": "0", "http-port": "0" }, process.env);
const t = await startTessera(config, { log: silentLog });
process.stdout.write(JSON.stringify({ grpcPort: t.grpcPort, httpPort: t.httpPort }) + "\n");
const stop = () => {
  void t.close().then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

// Run with node in a project that installed the tarball: both entries import, the server starts
// on an empty database (so every migration is read from the installed package), serves the
// console from it, and the installed worker client gets a real answer from it. Prints one JSON
// object on stdout for the test to check.
import { ConfigError, loadConfig, startTessera } from "tessera";
import { createWorkerClient, EndpointClass, Role, VerifyStatus } from "tessera/worker-client";

const { APP_DATABASE_URL: appUrl, OWNER_DATABASE_URL: ownerUrl, DATA_DIR: dataDir } = process.env;
const result = { exports: {}, migrations: [] };
result.exports = {
  startTessera: typeof startTessera,
  loadConfig: typeof loadConfig,
  ConfigError: typeof ConfigError,
  createWorkerClient: typeof createWorkerClient,
  "EndpointClass.INGEST": EndpointClass.INGEST,
  "VerifyStatus.VALID": VerifyStatus.VALID,
  "Role.ADMIN": Role.ADMIN,
};

const config = loadConfig(
  { "database-url": appUrl, "owner-database-url": ownerUrl, "data-dir": dataDir, "grpc-port": "0", "http-port": "0" },
  {},
);
const tessera = await startTessera(config, {
  log: (event, fields) => {
    if (event === "migrations_applied") result.migrations = fields.applied;
  },
});
try {
  const health = await fetch(`http://127.0.0.1:${tessera.httpPort}/healthz`);
  result.healthz = health.status;
  const page = await fetch(`http://127.0.0.1:${tessera.httpPort}/`);
  result.console = {
    status: page.status,
    type: page.headers.get("content-type"),
    title: /<title>([^<]*)<\/title>/.exec(await page.text())?.[1],
  };

  // A verifier token the server never issued: the answer is the server's refusal of the caller.
  const worker = createWorkerClient({ address: `127.0.0.1:${tessera.grpcPort}`, verifierToken: "tsvf_unknown", log: () => undefined });
  result.verify = await worker.verify({ credential: "o2oi_unknown", endpoint: EndpointClass.INGEST }).then(
    (d) => ({ status: d.status }),
    (err) => ({ error: err.name, code: err.code }),
  );
  await worker.close();
} finally {
  await tessera.close();
}
process.stdout.write(JSON.stringify(result) + "\n");

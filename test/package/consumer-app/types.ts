// Type-checked with tsc in a project that installed the tarball (NodeNext resolution, through
// the `types` conditions of package.json's exports). The expected errors prove the types are
// real: an entry whose declarations failed to resolve would type everything `any`, and then
// these lines would compile and tsc would report the unused @ts-expect-error.
import { ConfigError, loadConfig, startTessera, type Config, type Log, type Tessera, type TesseraOptions } from "tessera";
import { createWorkerClient, EndpointClass, Role, type Decision, type WorkerClient } from "tessera/worker-client";

const log: Log = (event, fields) => void [event, fields];
const options: TesseraOptions = { log };
const config: Config = loadConfig({ "grpc-port": "0" }, process.env);
const running: Promise<Tessera> = startTessera(config, options);
const port: Promise<number> = running.then((t) => t.grpcPort);
const failed: boolean = new Error() instanceof ConfigError;

const worker: WorkerClient = createWorkerClient({ address: "127.0.0.1:50051", verifierToken: "tsvf_…" });
const decision: Promise<Decision> = worker.verify({ credential: "o2oi_…", endpoint: EndpointClass.INGEST });
const allowed: Promise<boolean> = decision.then((d) => d.allowed && d.role !== Role.VIEWER);

// @ts-expect-error the public entry keeps the database handle internal
const db: unknown = (await running).db;
// @ts-expect-error a port is a number
const wrong: string = config.grpcPort;
// @ts-expect-error verify needs an endpoint class
void worker.verify({ credential: "o2oi_…" });

export { port, failed, allowed, db, wrong };

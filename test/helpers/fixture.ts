/**
 * The usual test file's set-up, registered as mocha hooks: a real server on a fresh database,
 * Setup done (operator and verifier tokens), a grpc-js client `c` on the gRPC port and `clients`
 * for every transport. Read the fields inside tests and hooks, after `before` has run.
 */
import { allClients, type Clients } from "./clients.js";
import { setupInstance, type Instance } from "./seed.js";
import { startTestServer, type TestServer } from "./server.js";

export interface ServerFixture {
  server: TestServer;
  /** grpc-js on the gRPC port. */
  c: Clients;
  /** Every transport, grpc-js first. */
  clients: Clients[];
  inst: Instance;
}

export function useSetUpServer(opts?: Parameters<typeof startTestServer>[0]): ServerFixture {
  const f = {} as ServerFixture;
  before(async () => {
    f.server = await startTestServer(opts);
    f.clients = allClients({ grpcPort: f.server.tessera.grpcPort, httpPort: f.server.tessera.httpPort });
    f.c = f.clients[0]!;
    f.inst = await setupInstance(f.c);
  });
  after(async () => {
    for (const c of f.clients ?? []) c.close();
    await f.server?.close();
  });
  return f;
}

/**
 * forward-auth end to end behind a real Caddy (Debian's package, forward_auth, configured as the
 * README says), started on loopback ports in front of a test upstream.
 */
import { useSetUpServer } from "../helpers/fixture.js";
import { startCaddy, startUpstream, type Gateway, type Upstream } from "./gateway-processes.js";
import { gatewayScenarios } from "./gateways.js";

describe("forward-auth behind Caddy", function () {
  this.timeout(60_000);
  const f = useSetUpServer();
  let upstream: Upstream;
  let gateway: Gateway;

  before(async () => {
    upstream = await startUpstream();
    gateway = await startCaddy({
      tesseraHttpPort: f.server.tessera.httpPort,
      upstreamPort: upstream.port,
      verifierToken: f.inst.verifierToken,
    });
  });
  after(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  gatewayScenarios(() => ({ gateway, upstream, c: f.c, inst: f.inst }));
});

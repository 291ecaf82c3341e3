/**
 * forward-auth end to end behind a real nginx (Debian's package, auth_request, configured as the
 * README says, with and without kept-alive connections to Tessera), started on loopback ports in
 * front of a test upstream.
 */
import { useSetUpServer } from "../helpers/fixture.js";
import { startNginx, startUpstream, type Gateway, type Upstream } from "./gateway-processes.js";
import { gatewayScenarios } from "./gateways.js";

for (const tesseraKeepalive of [false, true]) {
  describe(`forward-auth behind nginx${tesseraKeepalive ? ", connections to Tessera kept alive" : ""}`, function () {
    this.timeout(60_000);
    const f = useSetUpServer();
    let upstream: Upstream;
    let gateway: Gateway;

    before(async () => {
      upstream = await startUpstream();
      gateway = await startNginx({
        tesseraHttpPort: f.server.tessera.httpPort,
        upstreamPort: upstream.port,
        verifierToken: f.inst.verifierToken,
        tesseraKeepalive,
      });
    });
    after(async () => {
      await gateway?.close();
      await upstream?.close();
    });

    gatewayScenarios(() => ({ gateway, upstream, c: f.c, inst: f.inst }));
  });
}

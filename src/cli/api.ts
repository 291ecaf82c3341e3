/**
 * The CLI talks to Tessera like any integrator: the Connect protocol over HTTP/1.1 on the HTTP
 * port, with the generated TokenAdminService client. The bearer token travels in an interceptor
 * so no command handles headers itself.
 */
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { TokenAdminService } from "../gen/tessera/v1/token_admin_service_pb.js";

export type AdminClient = Client<typeof TokenAdminService>;

/** `token` undefined: unauthenticated calls (Setup). */
export function createAdminClient(host: string, token?: string): AdminClient {
  const interceptors: Interceptor[] = [
    // The audit trail records each call's user agent: entries made from the CLI say so.
    (next) => async (req) => {
      req.header.set("user-agent", `tessera-cli (node ${process.version})`);
      return next(req);
    },
  ];
  if (token !== undefined) {
    interceptors.push((next) => async (req) => {
      req.header.set("authorization", `Bearer ${token}`);
      return next(req);
    });
  }
  const transport = createConnectTransport({ baseUrl: host, httpVersion: "1.1", interceptors, defaultTimeoutMs: 30_000 });
  return createClient(TokenAdminService, transport);
}

/** Plain HTTP paths beside the RPC routes: a health endpoint for load balancers and orchestrators. */
import type http from "node:http";
import type http2 from "node:http2";

type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;

export function createHttpFallback(opts: { ready: () => boolean }): (req: Req, res: Res) => void {
  return (req, res) => {
    const url = req.url ?? "/";
    if (req.method === "GET" && (url === "/healthz" || url === "/readyz")) {
      const ok = opts.ready();
      res.writeHead(ok ? 200 : 503, { "content-type": "application/json" });
      res.end(JSON.stringify({ status: ok ? "SERVING" : "NOT_SERVING" }));
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found\n");
  };
}

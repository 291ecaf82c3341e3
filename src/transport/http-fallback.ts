/**
 * Plain HTTP paths beside the RPC routes: a health endpoint for load balancers and orchestrators,
 * forward-auth for gateways (`/forward-auth`, any method; forward-auth.ts), and the admin console's
 * static files (`/` and `/console/*`).
 */
import type http from "node:http";
import type http2 from "node:http2";
import { createConsoleAssets } from "./console-assets.js";
import { isForwardAuthPath } from "./forward-auth.js";

type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;

/** A plain Node handler for one of these paths. */
export type FallbackHandler = (req: Req, res: Res) => void;

export interface HttpFallbackOptions {
  ready: () => boolean;
  /** Serve the admin console at `/` and `/console/*`. Default true. */
  console?: boolean;
  /** Folder of the console's files (tests); default src/console of the package. */
  consoleDir?: string;
  /** Prometheus text for GET /metrics, with its content type. */
  metrics?: () => Promise<{ contentType: string; body: string }>;
  /** Serves `/forward-auth` and the paths below it, any method. */
  forwardAuth?: FallbackHandler;
}

function notFound(res: Res): void {
  res.writeHead(404, { "content-type": "text/plain" });
  res.end("not found\n");
}

export function createHttpFallback(opts: HttpFallbackOptions): (req: Req, res: Res) => void {
  const assets = opts.console === false ? undefined : createConsoleAssets(opts.consoleDir);
  return (req, res) => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const pathname = q === -1 ? url : url.slice(0, q);
    const method = req.method ?? "GET";
    if (opts.forwardAuth !== undefined && isForwardAuthPath(pathname)) {
      opts.forwardAuth(req, res);
      return;
    }
    if (method === "GET" && (pathname === "/healthz" || pathname === "/readyz")) {
      const ok = opts.ready();
      res.writeHead(ok ? 200 : 503, { "content-type": "application/json" });
      res.end(JSON.stringify({ status: ok ? "SERVING" : "NOT_SERVING" }));
      return;
    }
    if (method === "GET" && pathname === "/metrics" && opts.metrics !== undefined) {
      opts.metrics().then(
        ({ contentType, body }) => {
          res.writeHead(200, { "content-type": contentType });
          res.end(body);
        },
        () => {
          res.writeHead(500, { "content-type": "text/plain" });
          res.end("metrics unavailable\n");
        },
      );
      return;
    }
    if (assets !== undefined && (method === "GET" || method === "HEAD")) {
      assets.get(pathname).then(
        (asset) => {
          if (asset === undefined) return notFound(res);
          res.writeHead(200, { ...asset.headers, "content-length": String(asset.body.length) });
          if (method === "HEAD") res.end();
          else res.end(asset.body);
        },
        () => {
          if (res.headersSent) return void res.end();
          res.writeHead(500, { "content-type": "text/plain" });
          res.end("console unavailable\n");
        },
      );
      return;
    }
    notFound(res);
  };
}

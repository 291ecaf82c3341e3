/**
 * Talking to Tessera the way gateways do: Envoy's ext_authz Check as Envoy sends it (grpc-js, the
 * verifier in the call's metadata, lowercased header keys, pseudo-headers in the map, the path
 * with its query, a source address, per-route context_extensions), and forward-auth as nginx,
 * Caddy and Traefik call it (plain HTTP/1.1 with exact, possibly repeated, headers).
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Authorization, type CheckRequestSchema, type CheckResponse } from "../../src/gen/envoy/service/auth/v3/external_auth_pb.js";
import { createGrpcClient, type GrpcClient } from "../../src/wire/grpc-client.js";

export interface Forwarded {
  method?: string;
  /** Path and query, as the client sent them. */
  path: string;
  /** The client's headers, names as the client wrote them (Envoy lowercases them). */
  headers?: Record<string, string>;
  host?: string;
  extensions?: Record<string, string>;
  /** Raw headers, one entry per header line (Envoy's encode_raw_headers), instead of `headers`. */
  headerMap?: Array<[string, string]>;
}

/** The CheckRequest Envoy's HTTP ext_authz filter sends for a request. */
export function checkRequest(r: Forwarded): MessageInitShape<typeof CheckRequestSchema> {
  const method = r.method ?? "POST";
  const host = r.host ?? "ingest.example.com";
  const headers: Record<string, string> = {
    ":method": method,
    ":path": r.path,
    ":authority": host,
    ":scheme": "https",
    "x-request-id": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
    "x-forwarded-proto": "https",
    "user-agent": "otel-collector/0.99",
    "content-type": "application/x-protobuf",
  };
  for (const [k, v] of Object.entries(r.headers ?? {})) headers[k.toLowerCase()] = v;
  return {
    attributes: {
      source: {
        address: { address: { case: "socketAddress", value: { address: "10.0.0.7", portSpecifier: { case: "portValue", value: 54321 } } } },
      },
      request: {
        http: {
          method,
          path: r.path,
          host,
          headers: r.headerMap === undefined ? headers : {},
          headerMap:
            r.headerMap === undefined
              ? undefined
              : { headers: r.headerMap.map(([key, v]) => ({ key, rawValue: Buffer.from(v, "latin1") })) },
        },
      },
      contextExtensions: r.extensions ?? {},
    },
  };
}

export interface ExtAuthz {
  /** Check with the gateway's verifier (or `authorization`, or none). */
  check(r: Forwarded, authorization?: string | null): Promise<CheckResponse>;
  close(): void;
}

export function extAuthzClient(grpcPort: number, verifierToken: string): ExtAuthz {
  const c: GrpcClient<typeof Authorization> = createGrpcClient(Authorization, `127.0.0.1:${grpcPort}`);
  return {
    check: (r, authorization = `Bearer ${verifierToken}`) =>
      c.check(checkRequest(r), { metadata: authorization === null ? {} : { authorization } }),
    close: () => c.close(),
  };
}

/** The headers an allowed CheckResponse sets upstream, checked to replace rather than append. */
export function okHeaders(r: CheckResponse): Map<string, string> {
  assert.equal(r.status?.code, 0, `refused: ${r.status?.message}`);
  assert.equal(r.httpResponse.case, "okResponse");
  const out = new Map<string, string>();
  for (const h of r.httpResponse.value.headers) {
    assert.equal(h.append, false, `${h.header?.key} is set, not appended`);
    out.set(h.header!.key, h.header!.value);
  }
  return out;
}

/** An allowed CheckResponse's headers_to_remove. */
export function removed(r: CheckResponse): string[] {
  assert.equal(r.httpResponse.case, "okResponse");
  return r.httpResponse.value.headersToRemove;
}

/** A refused CheckResponse: its HTTP status, headers and JSON body. */
export function denial(r: CheckResponse): {
  http: number;
  grpc: number;
  headers: Map<string, string>;
  body: { status: string; message: string };
} {
  assert.notEqual(r.status?.code, 0, "refused");
  assert.equal(r.httpResponse.case, "deniedResponse");
  const d = r.httpResponse.value;
  return {
    http: d.status!.code,
    grpc: r.status!.code,
    headers: new Map(d.headers.map((h) => [h.header!.key, h.header!.value])),
    body: JSON.parse(d.body) as { status: string; message: string },
  };
}

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP/1.1 request with exactly these header lines (repeats kept), and `body` if given. */
export function httpRequest(
  port: number,
  path: string,
  headers: Array<[string, string]>,
  method = "GET",
  body?: string,
): Promise<HttpAnswer> {
  // A name given several times goes out as several header lines.
  const byName: Record<string, string[]> = {};
  for (const [k, v] of headers) (byName[k] ??= []).push(v);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path, method, headers: byName, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** forward-auth as nginx's auth_request calls it: the original method and URI in x-original-*. */
export function nginxStyle(
  port: number,
  verifier: string | undefined,
  method: string,
  uri: string,
  client: Array<[string, string]>,
): Promise<HttpAnswer> {
  const h: Array<[string, string]> = [["x-original-method", method], ["x-original-uri", uri], ...client];
  if (verifier !== undefined) h.unshift(["x-tessera-verifier", verifier]);
  return httpRequest(port, "/forward-auth", h);
}

/** The JSON body of a forward-auth refusal. */
export function bodyOf(a: HttpAnswer): { status: string; message: string } {
  assert.match(String(a.headers["content-type"]), /^application\/json/);
  return JSON.parse(a.body) as { status: string; message: string };
}

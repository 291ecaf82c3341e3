/**
 * `/forward-auth` on the HTTP port: the edge decision (services/edge-check.ts) for gateways that
 * ask over plain HTTP: nginx `auth_request`, Caddy `forward_auth`, Traefik `ForwardAuth`, HAProxy,
 * and Envoy's HTTP ext_authz (whose `path_prefix` makes the original path a suffix of ours).
 *
 * Any method. The gateway's VERIFIER token comes in `x-tessera-verifier` and is checked first: a
 * request without an acceptable one is answered 401 before anything about the end user's
 * credential is looked at, so it never tells whether that credential was valid. The question comes
 * from this URL's query string (`?endpoint=ingest&signal=logs&bucket=b1`) or, when it names no
 * endpoint, from the presets applied to the original method and target, which gateways send in one
 * of three ways: `x-original-method` / `x-original-uri` (nginx, set in its configuration),
 * `x-forwarded-method` / `x-forwarded-uri` (Caddy and Traefik set these themselves), or a path
 * below `/forward-auth/` (Envoy). A gateway passes its client's headers through, so a client can
 * add the other way's headers; a request carrying more than one way is refused rather than
 * guessed at.
 *
 * 200 carries the identity in `x-tessera-*` headers (`x-tessera-role` empty for organization
 * tokens, so a copy of it replaces whatever the client sent) and names the headers to strip in
 * `x-envoy-auth-headers-to-remove`; 401 carries a challenge; 403; 400 for the gateway's own bad
 * parameters; 503 when Tessera cannot decide. Every refusal has a small JSON body.
 */
import type http from "node:http";
import type http2 from "node:http2";
import { Code } from "@connectrpc/connect";
import { unauthenticated } from "../domain/errors.js";
import { parseQuery } from "../domain/ingestion-routes.js";
import type { Authenticator } from "../services/caller.js";
import {
  CHALLENGE,
  IDENTITY_HEADERS,
  identityHeaders,
  refusalBody,
  requireEdgeCaller,
  type EdgeChecker,
  type EdgeRequest,
} from "../services/edge-check.js";
import type { Log } from "../log.js";
import { toConnectError } from "./errors.js";
import type { UnavailableLog } from "./unavailable-log.js";

type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;

const FORWARD_AUTH_PATH = "/forward-auth";
const VERIFIER_HEADER = "x-tessera-verifier";
const PROCEDURE = "GET /forward-auth";

/** The ways a gateway tells the original request, each a method header and a target header. */
const WAYS = [
  { method: "x-original-method", target: "x-original-uri", host: "x-original-host" },
  { method: "x-forwarded-method", target: "x-forwarded-uri", host: "x-forwarded-host" },
] as const;

const HTTP_STATUS: Partial<Record<Code, number>> = {
  [Code.InvalidArgument]: 400,
  [Code.Unauthenticated]: 401,
  [Code.PermissionDenied]: 401,
  [Code.Unavailable]: 503,
  [Code.ResourceExhausted]: 431,
};

export interface ForwardAuthOptions {
  authenticate: Authenticator;
  check: EdgeChecker;
  log?: Log | undefined;
  unavailable?: UnavailableLog | undefined;
  /** Told the status of every decision (metrics): VALID or the refusal's status. */
  onDecision?: ((status: string) => void) | undefined;
}

/** Whether `pathname` is served by forward-auth. */
export const isForwardAuthPath = (pathname: string): boolean =>
  pathname === FORWARD_AUTH_PATH || pathname.startsWith(`${FORWARD_AUTH_PATH}/`);

export function createForwardAuth(o: ForwardAuthOptions): (req: Req, res: Res) => void {
  const { authenticate, check, onDecision } = o;
  const mapping = { log: o.log, unavailable: o.unavailable, procedure: PROCEDURE };
  return (req, res) => {
    // Nothing of a body is read: drop it, so an HTTP/1.1 connection stays usable.
    req.resume();
    serve(req).then(
      (answer) => send(res, answer),
      (err: unknown) => {
        const e = toConnectError(err, mapping);
        const status = HTTP_STATUS[e.code] ?? 500;
        const name =
          status === 503 ? "UNAVAILABLE" : status === 400 ? "INVALID_ARGUMENT" : status === 401 ? "VERIFIER_REFUSED" : "INTERNAL";
        onDecision?.(name);
        // Only the gateway's own token is ever judged before the end user's: a 401 here is about it.
        const message = status === 401 ? `the gateway's ${VERIFIER_HEADER} was not accepted: ${e.rawMessage}` : e.rawMessage;
        send(res, refusal(status, name, message));
      },
    );
  };

  async function serve(req: Req): Promise<Answer> {
    const headers = headerMap(req.rawHeaders);
    // The gateway first; nothing below runs for a caller that may not ask.
    const verifier = headers.values.get(VERIFIER_HEADER) ?? [];
    if (verifier.length > 1) throw unauthenticated(`the request carries several ${VERIFIER_HEADER} headers; send exactly one`);
    const caller = verifier[0] === undefined || verifier[0] === "" ? undefined : await authenticate(verifier[0]);
    requireEdgeCaller(caller, `"${VERIFIER_HEADER}: <verifier token>"`);

    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const pathname = q < 0 ? url : url.slice(0, q);
    const original = originalRequest(req, headers.values, pathname === FORWARD_AUTH_PATH ? undefined : url.slice(FORWARD_AUTH_PATH.length));
    const params = new Map<string, string>();
    if (pathname === FORWARD_AUTH_PATH && q >= 0) {
      const query = parseQuery(url.slice(q + 1));
      if (typeof query === "string") return refusal(400, "INVALID_ARGUMENT", query);
      for (const [key, values] of query) {
        const k = key.toLowerCase();
        if (values.length > 1 || params.has(k))
          return refusal(400, "INVALID_ARGUMENT", `query parameter "${safe(k)}" is given more than once`);
        params.set(k, values[0]!);
      }
    }
    if (typeof original === "string") return refusal(403, "NO_ROUTE", original);
    if (original.target === "" && params.size === 0) {
      return refusal(403, "NO_ROUTE", "no original request: send x-original-method and x-original-uri, or name the endpoint in the query");
    }
    const edge: EdgeRequest = {
      header: (name) => headers.values.get(name) ?? NONE,
      // The verifier is the gateway's, added to its request to Tessera only: not the client's to strip.
      headerNames: () => [...headers.values.keys()].filter((name) => name !== VERIFIER_HEADER),
      headerBytes: headers.bytes,
      method: original.method,
      target: original.target,
      host: original.host,
      params,
    };
    const d = await check(edge);
    onDecision?.(d.allowed ? "VALID" : d.status);
    if (!d.allowed) {
      return refusal(d.httpStatus, d.status, d.message);
    }
    const out: Record<string, string> = { "cache-control": "no-store" };
    for (const [k, v] of identityHeaders(d.identity)) out[k] = v;
    out[IDENTITY_HEADERS.role] ??= "";
    if (d.remove.length > 0) out["x-envoy-auth-headers-to-remove"] = d.remove.join(", ");
    return { status: 200, headers: out, body: "" };
  }
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function refusal(status: number, name: string, message: string): Answer {
  return { status, headers: status === 401 ? { "www-authenticate": CHALLENGE } : {}, body: refusalBody({ status: name, message }) };
}

function send(res: Res, a: Answer): void {
  if (res.headersSent) return void res.end();
  const headers: Record<string, string> = { ...a.headers };
  if (a.body !== "") headers["content-type"] = "application/json";
  headers["content-length"] = String(Buffer.byteLength(a.body));
  res.writeHead(a.status, headers);
  res.end(a.body);
}

const NONE: readonly string[] = Object.freeze([]);
const safe = (k: string): string => (/^[a-z0-9_-]{1,32}$/.test(k) ? k : "?");

/** Every header's values by lower-case name, and the size of them all. */
function headerMap(raw: readonly string[]): { values: Map<string, string[]>; bytes: number } {
  const values = new Map<string, string[]>();
  let bytes = 0;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    // HTTP/2 pseudo-headers are the forward-auth request's own, not the original's.
    if (name.startsWith(":")) continue;
    const value = raw[i + 1]!;
    bytes += name.length + value.length;
    const list = values.get(name);
    if (list === undefined) values.set(name, [value]);
    else list.push(value);
  }
  return { values, bytes };
}

/**
 * The original request's method, target and host, from the one way the gateway told them, or
 * why it cannot be known (a string). `suffix`: what follows /forward-auth in the path, if anything.
 */
function originalRequest(
  req: Req,
  headers: Map<string, string[]>,
  suffix: string | undefined,
): { method: string; target: string; host: string | undefined } | string {
  const told = WAYS.filter((w) => headers.has(w.target) || headers.has(w.method));
  if (told.length + (suffix === undefined ? 0 : 1) > 1) {
    return "the request names its original request in more than one way (x-original-*, x-forwarded-*, a path after /forward-auth)";
  }
  const one = (name: string): string | undefined | null => {
    const v = headers.get(name);
    return v === undefined ? undefined : v.length === 1 ? v[0]! : null;
  };
  if (suffix !== undefined) return { method: req.method ?? "GET", target: suffix, host: one("host") ?? undefined };
  const way = told[0];
  if (way === undefined) {
    // No original request: only explicit parameters can ask a question (the checker says so otherwise).
    return { method: req.method ?? "GET", target: "", host: undefined };
  }
  const target = one(way.target);
  const method = one(way.method);
  const host = one(way.host);
  if (target === null || method === null || host === null)
    return `the request carries several ${way.target}, ${way.method} or ${way.host} headers`;
  if (target === undefined) return `${way.method} without ${way.target}`;
  return { method: method ?? req.method ?? "GET", target, host };
}

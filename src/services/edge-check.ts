/**
 * The decision at the ingestion edge: one forwarded HTTP request, judged for a gateway (Envoy's
 * ext_authz Check, forward-auth for nginx, Caddy and Traefik) by Verify's own decider.
 *
 * The gateway's own credentials (a VERIFIER or operator token) are the transport's to check
 * before it calls here (requireEdgeCaller), so nothing about the end user's credential is judged
 * for a caller that may not ask. Then: the question comes from explicit parameters (Envoy's
 * context_extensions, forward-auth's query string) or, when they name no endpoint, from the
 * ingestion-route presets applied to the method and target; the end user's credential comes from
 * `authorization`, `x-api-key` or a header the parameters name, exactly one of them; and the
 * decider answers with its cache, memoized answers, last-used recording and revocation
 * guarantees, so a token disabled anywhere is refused here as soon as Verify refuses it.
 *
 * Refusals are data with an HTTP status for the end user: 401 (with a challenge) for a missing,
 * malformed, unknown, disabled or expired credential, or several at once; 403 for the wrong
 * endpoint, a forbidden bucket or signal, an inactive owner, a disabled organization or a request
 * no route matches; 431 for headers over the cap. A token of another organization is NOT_FOUND,
 * like one that does not exist. Errors are thrown only for the gateway's own mistakes
 * (INVALID_ARGUMENT naming the parameter) and when Tessera cannot decide (UNAVAILABLE).
 */
import { EndpointClass, Signal } from "../gen/tessera/v1/resources_pb.js";
import { VerifyRequestSchema, VerifyStatus, type VerifyRequest } from "../gen/tessera/v1/token_verify_service_pb.js";
import { parseCredential, type Credential } from "../domain/credential.js";
import type { EndpointClassName } from "../domain/decide.js";
import { Keyring } from "../domain/digest.js";
import { invalidArgument, permissionDenied, unauthenticated } from "../domain/errors.js";
import { isWellFormedToken } from "../domain/token-format.js";
import { endpointNamed, matchIngestionRoute, signalNamed, type IngestionRoute, type RouteOutcome } from "../domain/ingestion-routes.js";
import type { RoleName, SignalName } from "../domain/model.js";
import type { Caller } from "./caller.js";
import { KIND_TO_PB, roleFromPb } from "./convert.js";
import type { VerifyDecider } from "./verify-service.js";

/** Request headers over this many bytes (names and values) are refused with 431. */
const MAX_EDGE_HEADER_BYTES = 64 * 1024;
/** Route outcomes kept (the table starts over when full), and the longest request kept. */
const MAX_ROUTE_OUTCOMES = 4096;
const MAX_ROUTE_KEY = 1024;

/** The request a gateway forwards, as each transport reads it. */
export interface EdgeRequest {
  /** Every value of header `name` (lower case), in order; [] when absent. */
  header(name: string): readonly string[];
  /** The names (lower case) of every header present. */
  headerNames(): Iterable<string>;
  /** Names and values of all headers, in bytes. */
  headerBytes: number;
  method: string;
  /** Path and query, as received. */
  target: string;
  host: string | undefined;
  /** The gateway's explicit parameters (context_extensions, forward-auth's query). */
  params: ReadonlyMap<string, string>;
}

/** Who the allowed credential belongs to, as the upstream is told. */
export interface EdgeIdentity {
  organizationId: string;
  organization: string;
  tokenId: string;
  tokenKind: string;
  tokenName: string;
  ownerUserId: string;
  role: RoleName | undefined;
}

export type EdgeDecision =
  | {
      allowed: true;
      identity: EdgeIdentity;
      /** The question asked, and the preset that asked it (undefined: explicit parameters). */
      endpoint: EndpointClassName;
      signal: SignalName | undefined;
      bucket: string;
      route: string | undefined;
      /** Request headers the upstream must not see: the credential headers present, and stray x-tessera-* ones. */
      remove: string[];
    }
  | {
      allowed: false;
      httpStatus: 401 | 403 | 431;
      /** A Verify status name, or MISSING_CREDENTIAL, SEVERAL_CREDENTIALS, NO_ROUTE, HEADERS_TOO_LARGE. */
      status: string;
      message: string;
    };

/** The parameters a gateway may give (context_extensions keys, forward-auth query parameters). */
const PARAMS = new Set(["endpoint", "signal", "bucket", "organization", "credential_header"]);
const HEADER_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;
/** A parameter name safe to quote back (the gateway's configuration, never a credential). */
const QUOTABLE = /^[A-Za-z0-9_-]{1,32}$/;

export const IDENTITY_HEADERS = {
  organizationId: "x-tessera-organization-id",
  organization: "x-tessera-organization",
  tokenId: "x-tessera-token-id",
  tokenKind: "x-tessera-token-kind",
  role: "x-tessera-role",
} as const;

/** The identity headers an allowed request carries upstream (x-tessera-role only for user-bound tokens). */
export function identityHeaders(i: EdgeIdentity): Array<[string, string]> {
  const h: Array<[string, string]> = [
    [IDENTITY_HEADERS.organizationId, i.organizationId],
    [IDENTITY_HEADERS.organization, i.organization],
    [IDENTITY_HEADERS.tokenId, i.tokenId],
    [IDENTITY_HEADERS.tokenKind, i.tokenKind],
  ];
  if (i.role !== undefined) h.push([IDENTITY_HEADERS.role, i.role]);
  return h;
}

/** The 401 challenge. */
export const CHALLENGE = 'Bearer realm="tessera"';

/** The JSON body of a refusal: its status and a message for the client. */
export function refusalBody(d: { status: string; message: string }): string {
  return JSON.stringify({ status: d.status, message: d.message });
}

/** The gateway must present a VERIFIER (or operator) token of its own, as Verify's callers do. */
export function requireEdgeCaller(caller: Caller | undefined, send: string): void {
  if (caller === undefined) throw unauthenticated(`missing gateway credentials: send ${send}`);
  if (caller.kind !== "VERIFIER" && caller.kind !== "OPERATOR") {
    throw permissionDenied(`a ${caller.kind} token cannot authorize requests for a gateway; use a VERIFIER token`);
  }
}

const ENDPOINT_TO_PB: Record<EndpointClassName, EndpointClass> = {
  INGEST: EndpointClass.INGEST,
  QUERY: EndpointClass.QUERY,
  ADMIN: EndpointClass.ADMIN,
  SHARED_VIEW: EndpointClass.SHARED_VIEW,
};
const SIGNAL_TO_PB: Record<SignalName, Signal> = { LOGS: Signal.LOGS, METRICS: Signal.METRICS, TRACES: Signal.TRACES };

const REFUSAL: Partial<Record<VerifyStatus, { httpStatus: 401 | 403; message: string }>> = {
  [VerifyStatus.MALFORMED]: { httpStatus: 401, message: "the credential is malformed" },
  [VerifyStatus.NOT_FOUND]: { httpStatus: 401, message: "no such token" },
  [VerifyStatus.DISABLED]: { httpStatus: 401, message: "the token is disabled" },
  [VerifyStatus.EXPIRED]: { httpStatus: 401, message: "the token has expired" },
  [VerifyStatus.WRONG_ENDPOINT]: { httpStatus: 403, message: "this kind of token is not valid for this endpoint" },
  [VerifyStatus.FORBIDDEN]: { httpStatus: 403, message: "the token does not grant this bucket or signal" },
  [VerifyStatus.OWNER_INACTIVE]: { httpStatus: 403, message: "the token's owner no longer has access" },
  [VerifyStatus.ORGANIZATION_DISABLED]: { httpStatus: 403, message: "the organization is disabled" },
};

interface Question {
  endpoint: EndpointClassName;
  signal: SignalName | undefined;
  bucket: string;
  organization: string;
  route: string | undefined;
}

/** The explicit question in `params`, undefined when they name no endpoint; throws INVALID_ARGUMENT naming the parameter. */
function explicitQuestion(params: ReadonlyMap<string, string>, what: string): Question | undefined {
  for (const key of params.keys()) {
    if (!PARAMS.has(key)) {
      throw invalidArgument(`${QUOTABLE.test(key) ? `unknown ${what} "${key}"` : `an unknown ${what}`} (known: ${[...PARAMS].join(", ")})`);
    }
  }
  const endpointText = params.get("endpoint");
  const signalText = params.get("signal");
  const bucket = params.get("bucket");
  if (endpointText === undefined) {
    if (signalText !== undefined || bucket !== undefined || params.has("organization")) {
      throw invalidArgument(`${what} "endpoint" is required with "signal", "bucket" or "organization"`);
    }
    return undefined;
  }
  const endpoint = endpointNamed(endpointText);
  if (endpoint === undefined) throw invalidArgument(`${what} "endpoint" must be one of ingest, query, admin, shared_view`);
  const signal = signalText === undefined || signalText === "" ? undefined : signalNamed(signalText);
  if (signalText !== undefined && signalText !== "" && signal === undefined) {
    throw invalidArgument(`${what} "signal" must be one of logs, metrics, traces`);
  }
  return { endpoint, signal, bucket: bucket ?? "", organization: params.get("organization") ?? "", route: undefined };
}

/** The header the parameters name for the credential, checked; undefined when none. */
function credentialHeaderParam(params: ReadonlyMap<string, string>, what: string): string | undefined {
  const h = params.get("credential_header");
  if (h === undefined) return undefined;
  const name = h.toLowerCase();
  if (!HEADER_NAME.test(name)) throw invalidArgument(`${what} "credential_header" must be a header name (letters, digits and "-")`);
  return name;
}

/** `raw`: the credential as sent (one of the values, all naming the same token). */
type Found = { ok: true; raw: string; headers: string[] } | { ok: false; status: string; message: string };

/** Exactly one credential from the request's credential headers. */
function findCredential(req: EdgeRequest, names: readonly string[]): Found {
  const values: Array<{ name: string; value: string }> = [];
  for (const name of names) for (const value of req.header(name)) if (value.trim() !== "") values.push({ name, value });
  // The usual request: one header, one plain value.
  if (values.length === 1 && !joined(values[0]!.value)) {
    const c = parseCredential(values[0]!.value);
    if (!c.ok) return { ok: false, status: "MALFORMED", message: `malformed credential: ${c.reason}` };
    return { ok: true, raw: values[0]!.value, headers: [values[0]!.name] };
  }
  if (values.length === 0) {
    return {
      ok: false,
      status: "MISSING_CREDENTIAL",
      message: `no credential: send "authorization: Bearer <token>" or "x-api-key: <token>"`,
    };
  }
  const several = {
    ok: false,
    status: "SEVERAL_CREDENTIALS",
    message: "the request carries several credentials; send exactly one",
  } as const;
  if (values.some((v) => joined(v.value))) return several;
  if (req.header("authorization").filter((v) => v.trim() !== "").length > 1) return several;
  let first: Credential | undefined;
  for (const v of values) {
    const c = parseCredential(v.value);
    if (!c.ok) return { ok: false, status: "MALFORMED", message: `malformed credential: ${c.reason}` };
    if (first === undefined) first = c;
    else if (!sameCredential(first, c)) return several;
  }
  return { ok: true, raw: values[0]!.value, headers: [...new Set(values.map((v) => v.name))] };
}

/**
 * Whether a header value is several credentials joined with commas, as proxies join a repeated
 * header (Envoy's headers map): every part a credential with a scheme or a Tessera-format token.
 * An imported value may hold commas itself; one that merely does is one value.
 */
function joined(value: string): boolean {
  if (!value.includes(",")) return false;
  const parts = value.split(",").map((p) => p.trim());
  return parts.every((p) => (p.includes(" ") ? parseCredential(p).ok : isWellFormedToken(p)));
}

/** The same token (compared in constant time) for the same organization. */
function sameCredential(a: Credential, b: Credential): boolean {
  return Keyring.equal(Buffer.from(a.token), Buffer.from(b.token)) && a.orgIdentifier === b.orgIdentifier;
}

export interface EdgeCheckerOptions {
  decideVerify: VerifyDecider;
  /** The presets, the instance's own rules first. */
  routes: readonly IngestionRoute[];
  /** What the gateway's parameters are called in messages ("context extension", "query parameter"). */
  parameterWord: string;
}

export type EdgeChecker = (req: EdgeRequest) => Promise<EdgeDecision>;

export function createEdgeChecker(o: EdgeCheckerOptions): EdgeChecker {
  const { decideVerify, routes, parameterWord } = o;
  // Gateways ask about the same few routes all day: keep the outcomes (of a pure function).
  const outcomes = new Map<string, RouteOutcome>();
  const route = (method: string, target: string, host: string | undefined): RouteOutcome => {
    const key = `${method}\u0000${host ?? ""}\u0000${target}`;
    let m = outcomes.get(key);
    if (m === undefined) {
      m = Object.freeze(matchIngestionRoute(routes, { method, target, host }));
      if (outcomes.size >= MAX_ROUTE_OUTCOMES) outcomes.clear();
      if (key.length <= MAX_ROUTE_KEY) outcomes.set(key, m);
    }
    return m;
  };
  return async (req) => {
    if (req.headerBytes > MAX_EDGE_HEADER_BYTES) {
      return {
        allowed: false,
        httpStatus: 431,
        status: "HEADERS_TOO_LARGE",
        message: `request headers over ${MAX_EDGE_HEADER_BYTES} bytes`,
      };
    }
    let q = req.params.size === 0 ? undefined : explicitQuestion(req.params, parameterWord);
    const credentialHeader = req.params.size === 0 ? undefined : credentialHeaderParam(req.params, parameterWord);
    if (q === undefined) {
      const m = route(req.method, req.target, req.host);
      if (!m.ok) return { allowed: false, httpStatus: 403, status: "NO_ROUTE", message: m.reason };
      q = m.question;
    }
    const names = credentialHeader === undefined ? CREDENTIAL_HEADERS : [...new Set([...CREDENTIAL_HEADERS, credentialHeader])];
    const found = findCredential(req, names);
    if (!found.ok) return { allowed: false, httpStatus: 401, status: found.status, message: found.message };
    // A literal, as Verify's own requests arrive decoded: every field of the message, no create().
    const r = await decideVerify({
      $typeName: VERIFY_REQUEST,
      credential: found.raw,
      organization: q.organization,
      endpoint: ENDPOINT_TO_PB[q.endpoint],
      bucket: q.bucket,
      signal: q.signal === undefined ? Signal.UNSPECIFIED : SIGNAL_TO_PB[q.signal],
    });
    if (!r.allowed || r.principal === undefined) {
      const refusal = REFUSAL[r.status] ?? { httpStatus: 401 as const, message: "the credential was not accepted" };
      return { allowed: false, ...refusal, status: VerifyStatus[r.status] ?? "REFUSED" };
    }
    const p = r.principal;
    const identity: EdgeIdentity = {
      organizationId: p.organizationId,
      organization: p.organizationIdentifier,
      tokenId: p.tokenId,
      tokenKind: KIND_NAMES.get(p.kind) ?? "UNSPECIFIED",
      tokenName: p.tokenName,
      ownerUserId: p.ownerUserId,
      role: roleFromPb(r.role),
    };
    const remove = found.headers;
    for (const name of req.headerNames()) {
      if (!name.startsWith("x-tessera-") || remove.includes(name)) continue;
      if (name === IDENTITY_HEADERS.role ? identity.role === undefined : !SET_ALWAYS.has(name)) remove.push(name);
    }
    return { allowed: true, identity, endpoint: q.endpoint, signal: q.signal, bucket: q.bucket, route: q.route, remove };
  };
}

const CREDENTIAL_HEADERS = ["authorization", "x-api-key"] as const;
/** The identity headers every allowed request carries (x-tessera-role only for user-bound tokens). */
const SET_ALWAYS: ReadonlySet<string> = new Set([
  IDENTITY_HEADERS.organizationId,
  IDENTITY_HEADERS.organization,
  IDENTITY_HEADERS.tokenId,
  IDENTITY_HEADERS.tokenKind,
]);
/** Token kind names by protobuf value, for the x-tessera-token-kind header. */
const KIND_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(KIND_TO_PB).map(([name, v]) => [v, name]));
const VERIFY_REQUEST = VerifyRequestSchema.typeName as VerifyRequest["$typeName"];

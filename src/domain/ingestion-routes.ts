/**
 * Ingestion-route presets: which Verify question a standard ingestion request asks.
 *
 * Gateways in front of log, metric and trace stores (Envoy's ext_authz, nginx's auth_request,
 * Caddy's forward_auth, Traefik's ForwardAuth) hand Tessera a method and a request target; a
 * rule maps them to an endpoint class, a signal, a bucket and sometimes an organization
 * identifier (OpenObserve and InfluxDB put it in the URL). The built-in table covers OTLP over
 * HTTP and gRPC, Prometheus remote write, Loki push, Elasticsearch bulk, OpenObserve JSON and
 * multi ingestion and InfluxDB v2 write; an instance may add rules of its own in front of them
 * (TESSERA_INGESTION_ROUTES_FILE), including rules that refuse.
 *
 * Nothing is allowed by default: a request no rule matches is refused. The request target is
 * parsed strictly, because the backend behind the gateway reads it too, and a target the two read
 * differently could pass as a more permissive rule than the one the backend then serves: percent
 * escapes must be valid UTF-8 and may not hide a "/" or "\", dot segments, empty segments ("//",
 * a trailing "/"), non-ASCII or control characters, fragments and absolute forms are refused, and
 * a query parameter a rule reads may appear only once. Pure: no I/O.
 */
import type { EndpointClassName } from "./decide.js";
import type { SignalName } from "./model.js";

/** Longest request target considered (nginx's default large_client_header_buffers line is 8 KiB). */
const MAX_TARGET_LENGTH = 8192;

type Segment = { literal: string } | { capture: "bucket" | "organization" } | { any: true };

/** One rule of the table, parsed. */
export interface IngestionRoute {
  /** Shown in refusals and logs. */
  name: string;
  /** Upper case; HTTP methods are case-sensitive. */
  methods: readonly string[];
  /** Lower case, without a port; undefined matches any host. */
  host: string | undefined;
  path: readonly Segment[];
  /** The pattern as written, for messages. */
  pattern: string;
  /** Undefined for a rule that refuses what it matches. */
  endpoint: EndpointClassName | undefined;
  signal: SignalName | undefined;
  /** A fixed bucket, unless the path or the query names one. */
  bucket: string | undefined;
  /** The query parameter that holds the bucket (InfluxDB's `bucket`); required when set. */
  bucketQuery: string | undefined;
  /** The query parameter that holds the organization identifier (InfluxDB's `org`); optional. */
  organizationQuery: string | undefined;
}

/** The Verify question a matched request asks. */
interface RouteQuestion {
  route: string;
  endpoint: EndpointClassName;
  signal: SignalName | undefined;
  /** "" when the request names none. */
  bucket: string;
  /** "" when the request names none. */
  organization: string;
}

export type RouteOutcome = { ok: true; question: RouteQuestion } | { ok: false; reason: string };

const ENDPOINT_NAMES: Record<string, EndpointClassName> = {
  ingest: "INGEST",
  query: "QUERY",
  admin: "ADMIN",
  shared_view: "SHARED_VIEW",
};
const SIGNAL_NAMES: Record<string, SignalName> = { logs: "LOGS", metrics: "METRICS", traces: "TRACES" };

/** `ingest`, `INGEST` or the enum's full name `ENDPOINT_CLASS_INGEST`; undefined for anything else. */
export function endpointNamed(value: string): EndpointClassName | undefined {
  const v = value.toLowerCase();
  return Object.hasOwn(ENDPOINT_NAMES, v) ? ENDPOINT_NAMES[v] : v.startsWith("endpoint_class_") ? endpointNamed(v.slice(15)) : undefined;
}

/** `logs`, `LOGS` or `SIGNAL_LOGS`; undefined for anything else. */
export function signalNamed(value: string): SignalName | undefined {
  const v = value.toLowerCase();
  return Object.hasOwn(SIGNAL_NAMES, v) ? SIGNAL_NAMES[v] : v.startsWith("signal_") ? signalNamed(v.slice(7)) : undefined;
}

// ---- the request target -------------------------------------------------------------------------

/** A request target taken apart: decoded path segments and decoded query parameters. */
interface RequestTarget {
  segments: string[];
  query: Map<string, string[]>;
}

export type ParsedTarget = ({ ok: true } & RequestTarget) | { ok: false; reason: string };

const utf8 = new TextDecoder("utf-8", { fatal: true });
const HEX = /^[0-9A-Fa-f]{2}$/;

/** Strict percent-decoding (and "+" as a space, for query parts); undefined if malformed. */
function decode(raw: string, plusIsSpace: boolean): string | undefined {
  if (!raw.includes("%")) return plusIsSpace ? raw.replaceAll("+", " ") : raw;
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === "%") {
      const hex = raw.slice(i + 1, i + 3);
      if (!HEX.test(hex)) return undefined;
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(plusIsSpace && c === "+" ? 0x20 : c.charCodeAt(0));
    }
  }
  try {
    return utf8.decode(new Uint8Array(bytes));
  } catch {
    return undefined;
  }
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * The request target of an HTTP request (origin form: path and optional query, as the request
 * line, Envoy's `path` and nginx's `$request_uri` carry it), parsed strictly.
 */
export function parseRequestTarget(target: string): ParsedTarget {
  const fail = (reason: string): ParsedTarget => ({ ok: false, reason });
  if (target.length === 0) return fail("the request target is empty");
  if (target.length > MAX_TARGET_LENGTH) return fail(`the request target is longer than ${MAX_TARGET_LENGTH} characters`);
  if (!/^[\x21-\x7e]+$/.test(target)) return fail("the request target may hold only printable ASCII characters");
  if (target[0] !== "/") return fail('the request target must be a path starting with "/"');
  if (target.includes("#")) return fail("the request target holds a fragment");
  const q = target.indexOf("?");
  const path = q < 0 ? target : target.slice(0, q);
  const segments: string[] = [];
  for (const raw of path.slice(1).split("/")) {
    if (raw === "") return fail('the path holds an empty segment ("//" or a trailing "/")');
    if (raw.includes("\\")) return fail('the path holds a "\\"');
    const s = decode(raw, false);
    if (s === undefined) return fail("the path holds a malformed percent escape or one that is not UTF-8");
    if (s === "." || s === "..") return fail("the path holds a dot segment");
    if (s.includes("/") || s.includes("\\")) return fail('the path holds an escaped "/" or "\\"');
    if (CONTROL.test(s)) return fail("the path holds an escaped control character");
    segments.push(s);
  }
  const query = q < 0 ? new Map<string, string[]>() : parseQuery(target.slice(q + 1));
  return typeof query === "string" ? fail(query) : { ok: true, segments, query };
}

/**
 * A query string (without its "?") as `application/x-www-form-urlencoded` decodes it, strictly:
 * each parameter's values in order, or why it is malformed (a string).
 */
export function parseQuery(text: string): Map<string, string[]> | string {
  const query = new Map<string, string[]>();
  if (text.length > MAX_TARGET_LENGTH) return `the query is longer than ${MAX_TARGET_LENGTH} characters`;
  if (!/^[\x21-\x7e]*$/.test(text) || text.includes("#")) return "the query may hold only printable ASCII characters, without a fragment";
  for (const part of text.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const key = decode(eq < 0 ? part : part.slice(0, eq), true);
    const value = decode(eq < 0 ? "" : part.slice(eq + 1), true);
    if (key === undefined || value === undefined) return "the query holds a malformed percent escape or one that is not UTF-8";
    if (CONTROL.test(key) || CONTROL.test(value)) return "the query holds an escaped control character";
    const values = query.get(key);
    if (values === undefined) query.set(key, [value]);
    else values.push(value);
  }
  return query;
}

// ---- matching -----------------------------------------------------------------------------------

/** The host to compare: lower case, without a port or the brackets of an IPv6 literal. */
function hostOf(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith("[")) {
    const end = h.indexOf("]");
    return end < 0 ? h : h.slice(1, end);
  }
  const colon = h.indexOf(":");
  return colon < 0 || h.indexOf(":", colon + 1) >= 0 ? h : h.slice(0, colon);
}

/** What `single` answers for a parameter that appears more than once. */
const SEVERAL: unique symbol = Symbol("several values");

/** The single value of query parameter `name`; SEVERAL when it appears more than once. */
function single(query: Map<string, string[]>, name: string): string | undefined | typeof SEVERAL {
  const values = query.get(name);
  if (values === undefined) return undefined;
  return values.length === 1 ? values[0] : SEVERAL;
}

/**
 * The question `method target` asks under `routes` (first match wins), or why it is refused. A
 * rule whose method and path match decides: a query parameter it reads appearing twice refuses
 * the request rather than letting a later rule try (a backend may read the other one).
 */
export function matchIngestionRoute(
  routes: readonly IngestionRoute[],
  request: { method: string; target: string; host?: string | undefined },
): RouteOutcome {
  const t = parseRequestTarget(request.target);
  if (!t.ok) return t;
  const host = request.host === undefined || request.host === "" ? undefined : hostOf(request.host);
  for (const r of routes) {
    if (!r.methods.includes(request.method)) continue;
    if (r.host !== undefined && r.host !== host) continue;
    if (r.path.length !== t.segments.length) continue;
    let bucket = r.bucket ?? "";
    let organization = "";
    let matches = true;
    for (let i = 0; i < r.path.length && matches; i++) {
      const p = r.path[i]!;
      const s = t.segments[i]!;
      if ("literal" in p) matches = p.literal === s;
      else if ("capture" in p) {
        if (p.capture === "bucket") bucket = s;
        else organization = s;
      }
    }
    if (!matches) continue;
    if (r.bucketQuery !== undefined) {
      const b = single(t.query, r.bucketQuery);
      if (b === SEVERAL) return { ok: false, reason: `the ${r.bucketQuery} query parameter appears more than once` };
      if (b === undefined || b === "") continue;
      bucket = b;
    }
    if (r.organizationQuery !== undefined) {
      const o = single(t.query, r.organizationQuery);
      if (o === SEVERAL) return { ok: false, reason: `the ${r.organizationQuery} query parameter appears more than once` };
      if (o !== undefined) organization = o;
    }
    if (r.endpoint === undefined) return { ok: false, reason: `route ${r.name} refuses this request` };
    return { ok: true, question: { route: r.name, endpoint: r.endpoint, signal: r.signal, bucket, organization } };
  }
  return { ok: false, reason: "no ingestion route matches this method and path" };
}

// ---- the table ----------------------------------------------------------------------------------

/** A rule as written in the routes file (and the built-in table), before parsing. */
interface RouteSpec {
  name?: unknown;
  methods?: unknown;
  host?: unknown;
  path?: unknown;
  endpoint?: unknown;
  signal?: unknown;
  bucket?: unknown;
  bucket_query?: unknown;
  organization_query?: unknown;
  refuse?: unknown;
}

const SPEC_KEYS = new Set([
  "name",
  "methods",
  "host",
  "path",
  "endpoint",
  "signal",
  "bucket",
  "bucket_query",
  "organization_query",
  "refuse",
]);
const METHOD = /^[A-Z]{1,16}$/;
const PARAM = /^[A-Za-z0-9_.-]{1,64}$/;
const LITERAL = /^[A-Za-z0-9._~!$&'()+,;=:@-]+$/;

/** One rule, checked; throws an Error naming `where` and the problem. */
function parseRoute(spec: unknown, where: string): IngestionRoute {
  const fail = (problem: string): never => {
    throw new Error(`${where}: ${problem}`);
  };
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) fail("a route must be a JSON object");
  const s = spec as RouteSpec;
  for (const k of Object.keys(s)) if (!SPEC_KEYS.has(k)) fail(`unknown key "${k}" (known: ${[...SPEC_KEYS].join(", ")})`);
  const str = (key: keyof RouteSpec, value: unknown): string | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== "string" || value === "") return fail(`"${key}" must be a non-empty string`);
    return value;
  };
  const pattern = str("path", s.path) ?? fail('"path" is required');
  if (!pattern.startsWith("/") || pattern === "/") fail('"path" must start with "/" and name at least one segment');
  const path: Segment[] = pattern
    .slice(1)
    .split("/")
    .map((seg): Segment => {
      if (seg === "{bucket}") return { capture: "bucket" };
      if (seg === "{organization}") return { capture: "organization" };
      if (seg === "*") return { any: true };
      if (seg === "." || seg === ".." || !LITERAL.test(seg)) {
        return fail(`"path" segment "${seg}" must be {bucket}, {organization}, * or literal URL characters (no escapes, no dot segments)`);
      }
      return { literal: seg };
    });
  const captures = path.filter((p) => "capture" in p).map((p) => (p as { capture: string }).capture);
  if (new Set(captures).size !== captures.length) fail('"path" names {bucket} or {organization} more than once');
  const methods = s.methods === undefined ? ["POST"] : s.methods;
  if (!Array.isArray(methods) || methods.length === 0 || !methods.every((m) => typeof m === "string" && METHOD.test(m))) {
    fail('"methods" must be a non-empty list of upper-case HTTP methods');
  }
  const refuse = s.refuse === undefined ? false : s.refuse;
  if (typeof refuse !== "boolean") fail('"refuse" must be true or false');
  const endpointText = str("endpoint", s.endpoint);
  const endpoint = endpointText === undefined ? "INGEST" : endpointNamed(endpointText);
  if (endpoint === undefined) fail('"endpoint" must be one of ingest, query, admin, shared_view');
  const signalText = str("signal", s.signal);
  const signal = signalText === undefined ? undefined : signalNamed(signalText);
  if (signalText !== undefined && signal === undefined) fail('"signal" must be one of logs, metrics, traces');
  const bucket = str("bucket", s.bucket);
  const bucketQuery = str("bucket_query", s.bucket_query);
  const organizationQuery = str("organization_query", s.organization_query);
  for (const [k, v] of [
    ["bucket_query", bucketQuery],
    ["organization_query", organizationQuery],
  ] as const) {
    if (v !== undefined && !PARAM.test(v)) fail(`"${k}" must be a query parameter name (letters, digits, "_", ".", "-")`);
  }
  if (bucket !== undefined && CONTROL.test(bucket)) fail('"bucket" holds a control character');
  const bucketSources = [bucket !== undefined, bucketQuery !== undefined, captures.includes("bucket")].filter(Boolean).length;
  if (bucketSources > 1) fail('name the bucket once: "bucket", "bucket_query" or {bucket} in "path"');
  if (organizationQuery !== undefined && captures.includes("organization"))
    fail('name the organization once: "organization_query" or {organization}');
  const host = str("host", s.host);
  if (host !== undefined && !/^[A-Za-z0-9.-]{1,253}$/.test(host)) fail('"host" must be a host name without a port');
  return {
    name: str("name", s.name) ?? pattern,
    methods: Object.freeze([...(methods as string[])]),
    host: host?.toLowerCase(),
    path: Object.freeze(path),
    pattern,
    endpoint: refuse ? undefined : endpoint,
    signal,
    bucket,
    bucketQuery,
    organizationQuery,
  };
}

/**
 * The rules of a routes file: a JSON array of objects with `path` (segments separated by "/",
 * each a literal, `{bucket}`, `{organization}` or `*`), and optionally `name`, `methods`
 * (default ["POST"]), `host`, `endpoint` (default ingest), `signal`, `bucket` (a fixed one),
 * `bucket_query`, `organization_query` and `refuse`. Throws an Error naming the rule and the
 * problem.
 */
export function parseIngestionRoutes(json: unknown, source: string): IngestionRoute[] {
  if (!Array.isArray(json)) throw new Error(`${source}: the ingestion routes must be a JSON array of route objects`);
  return json.map((spec, i) => parseRoute(spec, `${source}: route ${i + 1}`));
}

const OTLP_GRPC: Array<[string, SignalName]> = [
  ["/opentelemetry.proto.collector.logs.v1.LogsService/Export", "LOGS"],
  ["/opentelemetry.proto.collector.metrics.v1.MetricsService/Export", "METRICS"],
  ["/opentelemetry.proto.collector.trace.v1.TraceService/Export", "TRACES"],
];

/** The built-in table: the standard ingestion APIs, each rule's request shape as its clients send it. */
export const BUILT_IN_ROUTES: readonly IngestionRoute[] = Object.freeze(
  parseIngestionRoutes(
    [
      // OpenTelemetry over HTTP (protobuf or JSON bodies).
      { name: "otlp-http-logs", path: "/v1/logs", signal: "logs" },
      { name: "otlp-http-metrics", path: "/v1/metrics", signal: "metrics" },
      { name: "otlp-http-traces", path: "/v1/traces", signal: "traces" },
      // OpenTelemetry over gRPC: the service paths (through Envoy, whose `path` is the gRPC path).
      ...OTLP_GRPC.map(([path, signal]) => ({ name: `otlp-grpc-${signal.toLowerCase()}`, path, signal })),
      // Prometheus remote write, and the push path of Cortex and Mimir.
      { name: "prometheus-remote-write", path: "/api/v1/write", signal: "metrics" },
      { name: "prometheus-push", path: "/api/v1/push", signal: "metrics" },
      // Loki push.
      { name: "loki-push", path: "/loki/api/v1/push", signal: "logs" },
      // Elasticsearch bulk: the index in the path is the bucket; without one, the request names none.
      { name: "elasticsearch-bulk", methods: ["POST", "PUT"], path: "/_bulk", signal: "logs" },
      { name: "elasticsearch-index-bulk", methods: ["POST", "PUT"], path: "/{bucket}/_bulk", signal: "logs" },
      // OpenObserve JSON and multi-line JSON ingestion: its organization and stream (the bucket).
      { name: "openobserve-json", path: "/api/{organization}/{bucket}/_json", signal: "logs" },
      { name: "openobserve-multi", path: "/api/{organization}/{bucket}/_multi", signal: "logs" },
      // InfluxDB v2 write: bucket (required) and org from the query.
      { name: "influxdb-write", path: "/api/v2/write", signal: "metrics", bucket_query: "bucket", organization_query: "org" },
    ],
    "built-in ingestion routes",
  ),
);

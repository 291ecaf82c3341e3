/**
 * Envoy's external authorization service (`envoy.service.auth.v3.Authorization/Check`), served
 * beside Verify on the gRPC port (and, like every service, on the HTTP port).
 *
 * Envoy authenticates with a VERIFIER token in its gRPC metadata (`grpc_service.initial_metadata`
 * `authorization: Bearer …`), resolved at the edge like any caller's. The request it checks is
 * judged by the edge checker (edge-check.ts): Verify's decider over the question that
 * context_extensions or the route presets ask. An allowed request goes on with the identity in
 * `x-tessera-*` headers (set, replacing whatever the client sent), its credential headers and any
 * stray `x-tessera-*` header removed, and the principal in dynamic metadata for later filters; a
 * refused one is answered by Envoy with Tessera's status, challenge and JSON body. When Tessera
 * cannot decide, Check fails with UNAVAILABLE, which Envoy turns into a denial (status_on_error)
 * unless the operator chose failure_mode_allow.
 */
import { toBinary, type JsonObject } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { HeaderValueOption_HeaderAppendAction, type HeaderValue, type HeaderValueOption } from "../gen/envoy/config/core/v3/base_pb.js";
import type { AttributeContext_HttpRequest } from "../gen/envoy/service/auth/v3/attribute_context_pb.js";
import {
  CheckResponseSchema,
  type Authorization,
  type CheckRequest,
  type CheckResponse,
} from "../gen/envoy/service/auth/v3/external_auth_pb.js";
import { StatusCode } from "../gen/envoy/type/v3/http_status_pb.js";
import { deepFreeze } from "../domain/deep-freeze.js";
import { invalidArgument } from "../domain/errors.js";
import { kWireEncoding } from "../wire/wire-encoding.js";
import { kCaller } from "./caller.js";
import {
  CHALLENGE,
  identityHeaders,
  refusalBody,
  requireEdgeCaller,
  type EdgeChecker,
  type EdgeDecision,
  type EdgeRequest,
} from "./edge-check.js";

/** gRPC codes in CheckResponse.status: Envoy allows on OK, refuses on anything else. */
const GRPC_OK = 0;
const GRPC_PERMISSION_DENIED = 7;
const GRPC_UNAUTHENTICATED = 16;

const HTTP_STATUS: Record<401 | 403 | 431, StatusCode> = {
  401: StatusCode.Unauthorized,
  403: StatusCode.Forbidden,
  431: StatusCode.RequestHeaderFieldsTooLarge,
};

export interface ExtAuthzServiceOptions {
  check: EdgeChecker;
  /** Told the status of every decision (metrics): VALID or the refusal's status. */
  onDecision?: ((status: string) => void) | undefined;
}

/** Answers kept with their encoding; the table starts over when full. */
const MAX_MEMOIZED_ANSWERS = 10_000;

export function createExtAuthzService(o: ExtAuthzServiceOptions): ServiceImpl<typeof Authorization> {
  const { check, onDecision } = o;
  /**
   * Answers by content, frozen, each with its binary encoding (wire-encoding.ts), so that the
   * same decision about the same token is not built and encoded again on every Check. Only the
   * answer's form is kept: every Check is decided afresh first, and a key names everything the
   * answer says.
   */
  const answers = new Map<string, CheckResponse>();
  const memoized = (key: string, build: () => CheckResponse): CheckResponse => {
    let a = answers.get(key);
    if (a === undefined) {
      const m = build();
      const bytes = toBinary(CheckResponseSchema, m);
      a = deepFreeze({ ...m, [kWireEncoding]: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1") });
      if (answers.size >= MAX_MEMOIZED_ANSWERS) answers.clear();
      answers.set(key, a);
    }
    return a;
  };
  return {
    async check(req: CheckRequest, ctx: HandlerContext): Promise<CheckResponse> {
      requireEdgeCaller(ctx.values.get(kCaller), '"authorization: Bearer <verifier token>" (grpc_service.initial_metadata)');
      const http = req.attributes?.request?.http;
      if (http === undefined) throw invalidArgument("attributes.request.http is required: Tessera checks HTTP requests");
      const d = await check(edgeRequest(http, req.attributes?.contextExtensions ?? {}));
      onDecision?.(d.allowed ? "VALID" : d.status);
      return d.allowed
        ? memoized(allowedKey(d), () => allowed(d))
        : memoized(`\u0001${d.httpStatus}\u0000${d.status}\u0000${d.message}`, () => denied(d));
    },
  };
}

/**
 * The request as the edge checker reads it. Envoy lowercases header names and joins a repeated
 * header's values with commas in `headers`; with encode_raw_headers it sends `header_map`
 * instead, one entry per header line, values as bytes.
 */
function edgeRequest(http: AttributeContext_HttpRequest, extensions: Record<string, string>): EdgeRequest {
  const h = http.headers;
  const keys = Object.keys(h);
  let headerBytes = 0;
  let lowercase = true;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    headerBytes += key.length + h[key]!.length;
    if (lowercase && UPPER.test(key)) lowercase = false;
  }
  const raw = http.headerMap?.headers ?? NO_RAW;
  const params = contextParams(extensions);
  if (lowercase && raw.length === 0) {
    // What Envoy sends: the map's keys lowercased already, read in place.
    return {
      header: (name) => (Object.hasOwn(h, name) ? [h[name]!] : NONE),
      headerNames: () => keys,
      headerBytes,
      method: http.method,
      target: http.path,
      host: http.host,
      params,
    };
  }
  const headers = new Map<string, string[]>();
  const add = (key: string, value: string): void => {
    const name = key.toLowerCase();
    const values = headers.get(name);
    if (values === undefined) headers.set(name, [value]);
    else values.push(value);
  };
  for (const key of keys) add(key, h[key]!);
  for (const r of raw) {
    const value =
      r.rawValue.length > 0 ? Buffer.from(r.rawValue.buffer, r.rawValue.byteOffset, r.rawValue.byteLength).toString("latin1") : r.value;
    headerBytes += r.key.length + value.length;
    add(r.key, value);
  }
  return {
    header: (name) => headers.get(name) ?? NONE,
    headerNames: () => headers.keys(),
    headerBytes,
    method: http.method,
    target: http.path,
    host: http.host,
    params,
  };
}

/** context_extensions by lower-case key; most routes set none. */
function contextParams(extensions: Record<string, string>): ReadonlyMap<string, string> {
  let params: Map<string, string> | undefined;
  for (const key in extensions) {
    params ??= new Map();
    const k = key.toLowerCase();
    if (params.has(k)) throw invalidArgument(`context extension "${k}" is given twice`);
    params.set(k, extensions[key]!);
  }
  return params ?? NO_PARAMS;
}

const NONE: readonly string[] = Object.freeze([]);
const NO_PARAMS: ReadonlyMap<string, string> = new Map();
const NO_RAW: readonly HeaderValue[] = Object.freeze([]);
const UPPER = /[A-Z]/;

/** Sets (never appends: a client's own x-tessera-* value must not survive) one header. */
function setHeader(key: string, value: string): HeaderValueOption {
  return {
    $typeName: "envoy.config.core.v3.HeaderValueOption",
    header: { $typeName: "envoy.config.core.v3.HeaderValue", key, value, rawValue: EMPTY },
    // Every Envoy reads the deprecated `append` first when it is set; false replaces.
    append: false,
    appendAction: HeaderValueOption_HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD,
  };
}
const EMPTY = new Uint8Array(0);

/** Everything an allowed answer says, as a memo key. */
function allowedKey(d: Extract<EdgeDecision, { allowed: true }>): string {
  const i = d.identity;
  return [
    i.organizationId,
    i.organization,
    i.tokenId,
    i.tokenKind,
    i.tokenName,
    i.ownerUserId,
    i.role ?? "",
    d.endpoint,
    d.bucket,
    d.signal ?? "",
    d.route ?? "",
    ...d.remove,
  ].join("\u0000");
}

function allowed(d: Extract<EdgeDecision, { allowed: true }>): CheckResponse {
  const i = d.identity;
  const principal: JsonObject = {
    organization_id: i.organizationId,
    organization: i.organization,
    token_id: i.tokenId,
    token_kind: i.tokenKind,
    token_name: i.tokenName,
  };
  if (d.bucket !== "") principal["bucket"] = d.bucket;
  if (i.ownerUserId !== "") principal["owner_user_id"] = i.ownerUserId;
  if (i.role !== undefined) principal["role"] = i.role;
  if (d.signal !== undefined) principal["signal"] = d.signal;
  if (d.route !== undefined) principal["route"] = d.route;
  return {
    $typeName: "envoy.service.auth.v3.CheckResponse",
    status: { $typeName: "google.rpc.Status", code: GRPC_OK, message: "" },
    httpResponse: {
      case: "okResponse",
      value: {
        $typeName: "envoy.service.auth.v3.OkHttpResponse",
        headers: identityHeaders(i).map(([k, v]) => setHeader(k, v)),
        headersToRemove: d.remove,
      },
    },
    dynamicMetadata: principal,
  };
}

function denied(d: Extract<EdgeDecision, { allowed: false }>): CheckResponse {
  const headers = [setHeader("content-type", "application/json")];
  if (d.httpStatus === 401) headers.push(setHeader("www-authenticate", CHALLENGE));
  return {
    $typeName: "envoy.service.auth.v3.CheckResponse",
    status: {
      $typeName: "google.rpc.Status",
      code: d.httpStatus === 401 ? GRPC_UNAUTHENTICATED : GRPC_PERMISSION_DENIED,
      message: d.message,
    },
    httpResponse: {
      case: "deniedResponse",
      value: {
        $typeName: "envoy.service.auth.v3.DeniedHttpResponse",
        status: { $typeName: "envoy.type.v3.HttpStatus", code: HTTP_STATUS[d.httpStatus] },
        headers,
        body: refusalBody(d),
      },
    },
  };
}

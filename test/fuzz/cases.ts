/**
 * One fuzz case: which listener, wire and protocol, which method, the exact headers and body
 * bytes, and notes on how it was made. Built only from (seed, index) and the fuzz context, so a
 * failing case can be rebuilt and replayed alone (`--seed S --only N`). The body, framing and
 * header damage come from bodies.ts, framing.ts and headers.ts.
 */
import type { DescMethod } from "@bufbuild/protobuf";
import { TokenAdminService } from "../../src/gen/tessera/v1/token_admin_service_pb.js";
import { TokenVerifyService } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { Authorization } from "../../src/gen/envoy/service/auth/v3/external_auth_pb.js";
import { isMalformed, messageBody, type BodyFamily } from "./bodies.js";
import { contentEncodingMutation, envelope, frameMutation, type FrameDamage } from "./framing.js";
import { HEADER_MUTATIONS, TRANSPORT_REFUSALS, baseHeaders, headerMutation } from "./headers.js";
import { Rng, caseSeed } from "./prng.js";
import { credential, type FuzzContext } from "./values.js";

/** `http` is the Connect/gRPC-web/gRPC port, `grpc` the grpc-js port. */
type Listener = "http" | "grpc";
/** h1: raw HTTP/1.1 bytes on a socket; h2: HTTP/2 with prior knowledge (h2c). */
type Wire = "h1" | "h2";
export type Protocol = "connect" | "grpc" | "grpc-web";

export interface FuzzCase {
  index: number;
  listener: Listener;
  wire: Wire;
  protocol: Protocol;
  /** `TokenAdminService/Setup` */
  method: string;
  streaming: boolean;
  httpMethod: string;
  path: string;
  /** Exact header lines, duplicates allowed; values are latin1 (one char per byte). */
  headers: Array<[string, string]>;
  body: Buffer;
  /** What was done to make this input: shown on failure. */
  notes: string[];
  /** Codes this input must get, when anything else is a defect (e.g. two authorization headers). */
  expect?: { codes: string[]; why: string };
}

/** `grpc:h2:grpc`: how results are counted. */
export const routeOf = (c: FuzzCase): string => `${c.listener}:${c.wire}:${c.protocol}`;

const METHODS: DescMethod[] = [...TokenAdminService.methods, ...TokenVerifyService.methods, ...Authorization.methods];

/** Verify and the paged listings reach SQL with caller-chosen text: weighted up. */
const METHOD_WEIGHTS: ReadonlyArray<readonly [number, DescMethod]> = METHODS.map((m) => {
  const w =
    m.name === "Verify"
      ? 8
      : m.name === "Check"
        ? 4
        : m.name === "ListOrganizations" || m.name === "ListTokens"
          ? 4
          : m.name === "WatchRevocations"
            ? 1
            : 1.5;
  return [w, m] as const;
});

/** Where each input goes: every listener, wire and protocol. */
const ROUTES: ReadonlyArray<readonly [number, readonly [Listener, Wire, Protocol]]> = [
  [3, ["grpc", "h2", "grpc"]],
  [2, ["http", "h1", "connect"]],
  [2, ["http", "h2", "connect"]],
  [1.5, ["http", "h1", "grpc-web"]],
  [1, ["http", "h2", "grpc-web"]],
  [1, ["http", "h1", "grpc"]],
  [1.5, ["http", "h2", "grpc"]],
];

export function buildCase(seed: number, index: number, ctx: FuzzContext): FuzzCase {
  const rng = new Rng(caseSeed(seed, index));
  const [listener, wire, protocol] = rng.weighted(ROUTES);
  const method = rng.weighted(METHOD_WEIGHTS);
  const streaming = method.methodKind === "server_streaming";
  const notes: string[] = [];
  const c: FuzzCase = {
    index,
    listener,
    wire,
    protocol,
    method: `${method.parent.name}/${method.name}`,
    streaming,
    httpMethod: "POST",
    path: `/${method.parent.typeName}/${method.name}`,
    headers: [],
    body: Buffer.alloc(0),
    notes,
  };

  // JSON only where a JSON codec listens: Connect always, gRPC and gRPC-web on the HTTP port as +json.
  const json = protocol === "connect" ? rng.chance(0.45) : listener === "http" && rng.chance(0.08);
  // Two authorization values have an expected outcome (UNAUTHENTICATED) only if nothing else in
  // the request is wrong: such cases get a valid body and no other damage.
  const headerDamage = rng.chance(0.25) ? rng.weighted(HEADER_MUTATIONS) : undefined;
  const clean = headerDamage === "dup-auth";
  const family: BodyFamily = clean
    ? "valid"
    : rng.weighted<BodyFamily>([
        [3, "valid"],
        [5, "one-evil"],
        [2, "chaos"],
        [json ? 1 : 4, "mutated"],
        [json ? 0 : 2, "structural"],
        [1, "random"],
        [json ? 4 : 0, "json-mutated"],
        [method.name === "ListOrganizations" || method.name === "ListTokens" ? 12 : 0, "page-token"],
        [method.name === "Verify" ? 8 : 0, "credential"],
      ]);
  notes.push(`body: ${family}${json ? " (JSON)" : ""}`);
  const message = messageBody(rng, ctx, method, family, json, notes);

  const headers = baseHeaders(rng, protocol, json, streaming);
  const auth = authFor(rng, ctx, method, notes);
  if (auth.value !== undefined) headers.push(["authorization", auth.value]);

  // Framing: gRPC, gRPC-web and Connect streams carry messages in 5-byte envelopes.
  const enveloped = protocol !== "connect" || streaming;
  let body = enveloped ? envelope(0, message) : message;
  let framing: FrameDamage | "content-encoding" | undefined;
  if (!clean && enveloped && rng.chance(0.25)) {
    const f = frameMutation(rng, protocol, message, headers, notes);
    body = f.body;
    framing = f.damage;
  } else if (!clean && !enveloped && rng.chance(0.08)) {
    body = contentEncodingMutation(rng, message, headers, notes);
    framing = "content-encoding";
  }
  if (headerDamage !== undefined) {
    headerMutation(rng, ctx, c, headers, headerDamage, notes);
    // A body the server refuses to decode may rightly be answered before the credentials are read.
    if (c.expect !== undefined && isMalformed(method, message, json)) delete c.expect;
  }
  // Expectations on the body hold only for a caller the server accepts: a Connect stream
  // authenticates before it reads its request, so a bad credential may rightly be answered first.
  else if (auth.accepted) {
    const e = bodyExpectation(method, message, json, framing);
    if (e !== undefined) c.expect = e;
  }
  c.headers = headers;
  c.body = body;
  return c;
}

/**
 * The rule: a body that is not a valid message is INVALID_ARGUMENT, on every listener and
 * protocol. Judged only where nothing else is wrong with the request.
 */
function bodyExpectation(
  method: DescMethod,
  payload: Buffer,
  json: boolean,
  framing: FrameDamage | "content-encoding" | undefined,
): FuzzCase["expect"] {
  if (framing === undefined && isMalformed(method, payload, json)) {
    return {
      // A body over the server's message size cap is refused for its size before it is read:
      // deeply nested requests (ApplyManifest's) can be generated that large.
      codes: ["INVALID_ARGUMENT", ...(payload.length > MAX_MESSAGE_BYTES ? (["RESOURCE_EXHAUSTED"] as const) : []), ...TRANSPORT_REFUSALS],
      why: `a malformed ${json ? "JSON" : "protobuf"} body must be INVALID_ARGUMENT: not a valid ${method.input.typeName}`,
    };
  }
  if (framing === "truncated") {
    // RESOURCE_EXHAUSTED too: an envelope may promise more than the size cap.
    return {
      codes: ["INVALID_ARGUMENT", "RESOURCE_EXHAUSTED", ...TRANSPORT_REFUSALS],
      why: "a malformed body must be INVALID_ARGUMENT: the envelope promises more bytes than the body holds",
    };
  }
  return undefined;
}

/** The servers' default message size cap (config.ts maxMessageBytes). */
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/**
 * The caller's credentials: mostly good ones, so inputs reach the service code and its SQL.
 * `accepted`: the server lets this caller call this method (operators may call everything).
 */
function authFor(rng: Rng, ctx: FuzzContext, method: DescMethod, notes: string[]): { value: string | undefined; accepted: boolean } {
  // Envoy's Check is called by the same VERIFIER tokens as Verify.
  const verifyApi = method.parent.typeName === TokenVerifyService.typeName || method.parent.typeName === Authorization.typeName;
  const choice = rng.weighted<string>(
    verifyApi
      ? [
          [12, "verifier"],
          [2, "operator"],
          [1, "admin"],
          [1, "none"],
          [2, "generated"],
        ]
      : method.name === "Setup"
        ? [
            [3, "none"],
            [2, "operator"],
            [1, "generated"],
          ]
        : [
            [11, "operator"],
            [4, "admin"],
            [1, "verifier"],
            [1, "none"],
            [2, "generated"],
          ],
  );
  notes.push(`auth: ${choice}`);
  switch (choice) {
    case "verifier":
      return { value: `Bearer ${ctx.verifierToken}`, accepted: verifyApi };
    case "operator":
      return { value: `Bearer ${ctx.operatorToken}`, accepted: true };
    case "admin":
      return { value: `Bearer ${ctx.adminToken}`, accepted: false };
    case "none":
      return { value: undefined, accepted: method.name === "Setup" };
    default: {
      const c = credential(rng, ctx);
      notes.push(`authorization: ${c.note}`);
      return { value: c.value, accepted: false };
    }
  }
}

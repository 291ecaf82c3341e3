/**
 * Turns a raw response into an outcome (a code and the message the client sees) the way each
 * protocol's client would read it, and judges it: INTERNAL and UNKNOWN are defects, and so is a
 * message with a stack trace, SQL or driver text, a file path, or the marker echoed back.
 */
import type { FuzzCase } from "./cases.js";
import type { RawResponse } from "./transport.js";
import { CODE_NAMES } from "../../src/transport/rpc-metrics.js";
import { MARKER } from "./values.js";

/** gRPC status names by number (Connect codes are the same numbers): the metrics' own table. */
const GRPC_CODES: readonly string[] = CODE_NAMES;

export interface Outcome {
  /**
   * A gRPC code name (from grpc-status, a Connect error body or trailer, or OK), or what happened
   * instead: HTTP_<status> (no protocol error in the response), RST_<http2 error> (stream reset
   * before any response), CLOSED (connection closed without a response), TIMEOUT, UNSENDABLE.
   */
  code: string;
  message: string;
  httpStatus?: number;
}

export function classify(c: FuzzCase, r: RawResponse): Outcome {
  switch (r.kind) {
    case "timeout":
      return { code: "TIMEOUT", message: r.detail ?? "" };
    case "unsendable":
      return { code: "UNSENDABLE", message: r.detail ?? "" };
    case "closed":
      return { code: "CLOSED", message: r.detail ?? "" };
    case "reset":
      return { code: `RST_${rstName(r.rstCode)}`, message: r.detail ?? "" };
    case "http":
      break;
  }
  const status = r.status ?? 0;
  const ct = (r.headers.get("content-type")?.[0] ?? "").toLowerCase();
  const withStatus = (o: Outcome): Outcome => ({ ...o, httpStatus: status });

  // gRPC and gRPC-web: the status is in the headers (trailers-only), the HTTP/2 or chunked
  // HTTP/1.1 trailers, or (gRPC-web) a trailer frame at the end of the body.
  if (ct.startsWith("application/grpc")) {
    // gRPC-web's text mode: the same frames, base64-encoded (each frame padded on its own, so
    // every group of four characters decodes alone, as the official client reads it).
    const body = ct.startsWith("application/grpc-web-text") ? fromBase64Groups(r.body) : r.body;
    const fromMap = (m: Map<string, string[]>) => {
      const s = m.get("grpc-status")?.[0];
      return s === undefined ? undefined : { code: codeName(s), message: decodeGrpcMessage(m.get("grpc-message")?.[0] ?? "") };
    };
    const found = fromMap(r.headers) ?? fromMap(r.trailers) ?? grpcWebTrailer(body);
    if (found) return withStatus(found);
    if (c.streaming && status === 200 && body.length >= 5) return withStatus({ code: "OK", message: "" });
    if (r.rstCode !== undefined) return withStatus({ code: `RST_${rstName(r.rstCode)}`, message: "" });
    // A gRPC client reads a 200 response without a status as INTERNAL ("missing status").
    return withStatus({ code: status === 200 ? "INTERNAL" : `HTTP_${status}`, message: "response without grpc-status" });
  }

  // Connect streams: enveloped messages, the last one (flag 0x02) a JSON end-of-stream.
  if (ct.startsWith("application/connect+")) {
    for (const env of envelopes(r.body)) {
      if ((env.flags & 0x02) !== 0) {
        const end = parseJson(env.payload) as { error?: { code?: string; message?: string } } | undefined;
        if (end?.error !== undefined)
          return withStatus({ code: String(end.error.code ?? "unknown").toUpperCase(), message: String(end.error.message ?? "") });
        return withStatus({ code: "OK", message: "" });
      }
    }
    return withStatus({ code: status === 200 && r.body.length >= 5 ? "OK" : `HTTP_${status}`, message: "" });
  }

  // Connect unary: 200 is success; an error is a JSON body with a code.
  if (status === 200) return withStatus({ code: "OK", message: "" });
  const err = parseJson(r.body) as { code?: unknown; message?: unknown } | undefined;
  if (err !== undefined && typeof err.code === "string") {
    return withStatus({ code: err.code.toUpperCase(), message: typeof err.message === "string" ? err.message : "" });
  }
  return withStatus({ code: `HTTP_${status}`, message: r.body.subarray(0, 300).toString("latin1") });
}

function codeName(s: string): string {
  const n = Number(s);
  return Number.isInteger(n) && GRPC_CODES[n] !== undefined ? GRPC_CODES[n] : `GRPC_STATUS_${s}`;
}

/** grpc-message is percent-encoded UTF-8. */
function decodeGrpcMessage(m: string): string {
  try {
    return decodeURIComponent(m);
  } catch {
    return m;
  }
}

function fromBase64Groups(text: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < text.length; at += 4) parts.push(Buffer.from(text.subarray(at, at + 4).toString("latin1"), "base64"));
  return Buffer.concat(parts);
}

function* envelopes(body: Buffer): Generator<{ flags: number; payload: Buffer }> {
  let at = 0;
  while (at + 5 <= body.length) {
    const len = body.readUInt32BE(at + 1);
    if (at + 5 + len > body.length) return;
    yield { flags: body[at]!, payload: body.subarray(at + 5, at + 5 + len) };
    at += 5 + len;
  }
}

function grpcWebTrailer(body: Buffer): { code: string; message: string } | undefined {
  for (const env of envelopes(body)) {
    if ((env.flags & 0x80) === 0) continue;
    const lines = env.payload.toString("utf8").split("\r\n");
    let code: string | undefined;
    let message = "";
    for (const l of lines) {
      const i = l.indexOf(":");
      if (i < 0) continue;
      const k = l.slice(0, i).trim().toLowerCase();
      const v = l.slice(i + 1).trim();
      if (k === "grpc-status") code = codeName(v);
      if (k === "grpc-message") message = decodeGrpcMessage(v);
    }
    if (code !== undefined) return { code, message };
  }
  return undefined;
}

function parseJson(b: Buffer): unknown {
  try {
    return JSON.parse(b.toString("utf8"));
  } catch {
    return undefined;
  }
}

/** HTTP/2 error codes (RFC 9113 §7). */
const RST_NAMES = [
  "NO_ERROR",
  "PROTOCOL_ERROR",
  "INTERNAL_ERROR",
  "FLOW_CONTROL_ERROR",
  "SETTINGS_TIMEOUT",
  "STREAM_CLOSED",
  "FRAME_SIZE_ERROR",
  "REFUSED_STREAM",
  "CANCEL",
  "COMPRESSION_ERROR",
  "CONNECT_ERROR",
  "ENHANCE_YOUR_CALM",
  "INADEQUATE_SECURITY",
  "HTTP_1_1_REQUIRED",
];

function rstName(code: number | undefined): string {
  if (code === undefined) return "NONE";
  return RST_NAMES[code] ?? String(code);
}

// ---- judging ----

export interface Violation {
  rule: string;
  detail: string;
}

const STACK = [/\n\s+at /, / {4}at /, /\bat [\w.<>]+ \(/, /\.[cm]?[jt]s:\d+/];
const SQL =
  /\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|WHERE|RETURNING)\b|\b(relation|violates|constraint|syntax error|invalid byte sequence|invalid input syntax|out of range for type|duplicate key|pg_\w+|tessera_\w+\()/i;
const PATH = /(\/work\/|\/home\/|\/usr\/|\/tmp\/|node_modules|file:\/\/|dist\/src|dist\/test|src\/\w+\/\w+\.ts)/;

/** What is wrong with this outcome, if anything. */
export function violations(c: FuzzCase, o: Outcome): Violation[] {
  const v: Violation[] = [];
  if (o.code === "INTERNAL" || o.code === "UNKNOWN") v.push({ rule: o.code, detail: o.message });
  else if (o.code === "HTTP_500") v.push({ rule: "HTTP_500", detail: o.message });
  else if (o.code === "RST_INTERNAL_ERROR")
    v.push({ rule: "RST_INTERNAL_ERROR", detail: "stream reset with INTERNAL_ERROR (gRPC clients read it as INTERNAL)" });
  else if (o.code === "TIMEOUT") v.push({ rule: "TIMEOUT", detail: `no complete answer within the timeout (${o.message})` });
  if (c.expect !== undefined && !c.expect.codes.includes(o.code))
    v.push({ rule: "EXPECTED", detail: `${c.expect.why}: wanted ${c.expect.codes.join(" or ")}, got ${o.code}` });
  if (o.code !== "OK" && o.code !== "TIMEOUT" && o.message !== "") {
    if (STACK.some((re) => re.test(o.message))) v.push({ rule: "STACK", detail: o.message });
    if (SQL.test(o.message)) v.push({ rule: "SQL", detail: o.message });
    if (PATH.test(o.message)) v.push({ rule: "PATH", detail: o.message });
    if (o.message.includes(MARKER) || o.message.includes(encodeURIComponent(MARKER))) v.push({ rule: "ECHO", detail: o.message });
  }
  return v;
}

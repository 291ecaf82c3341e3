// connect-es answers some faults of the request itself badly, before any interceptor runs:
//
// - as INTERNAL, though the fault is the client's: a message that does not parse as protobuf
//   ("parse binary: premature EOF", from its serialization.ts), a compressed body that does not
//   decompress (a truncated gzip stream), a compressed frame sent without declaring an encoding;
// - as UNIMPLEMENTED, a cut-off frame ("protocol error: missing input message"), where the
//   gRPC port answers INVALID_ARGUMENT for the same bytes;
// - quoting what the client sent: an unknown encoding, a malformed timeout, a JSON value of the
//   wrong type (which may be a secret pasted into the wrong field).
//
// INTERNAL must only ever mean a bug of ours, and no answer may quote the input. So each universal
// handler is wrapped, and exactly those statuses are rewritten wherever the protocol carries its
// status: the JSON body of a Connect unary error, the trailers of gRPC, the trailer frame of
// gRPC-web, the end-of-stream frame of a Connect stream.

import { Code } from "@connectrpc/connect";
import { codeFromString, codeToString } from "@connectrpc/connect/protocol-connect";
import type { UniversalHandler, UniversalServerResponse } from "@connectrpc/connect/protocol";

/** gRPC-web's trailer frame and Connect's end-of-stream frame: the flag bytes that mark them. */
const GRPC_WEB_TRAILER = 0x80;
const CONNECT_END_STREAM = 0x02;

interface Fault {
  code: Code;
  message: RegExp;
  /** What the client is told instead: the code, and a message of ours (or the part of theirs worth keeping). */
  to: Code;
  say: (m: RegExpExecArray) => string;
}

const FAULTS: readonly Fault[] = [
  { code: Code.Internal, message: /^parse binary: /, to: Code.InvalidArgument, say: () => "request is not a valid protobuf message" },
  { code: Code.Internal, message: /^decompression failed$/, to: Code.InvalidArgument, say: () => "request body could not be decompressed" },
  {
    code: Code.Internal,
    message: /^received compressed envelope, but do not know how to decompress$/,
    to: Code.InvalidArgument,
    say: () => "request frame is compressed but no encoding was declared",
  },
  {
    code: Code.Unimplemented,
    message: /^protocol error: missing input message/,
    to: Code.InvalidArgument,
    say: () => "request body holds no complete message",
  },
  {
    code: Code.Unimplemented,
    message: /^protocol error: received extra input message/,
    to: Code.InvalidArgument,
    say: () => "request body holds more than the one message this method takes",
  },
  {
    code: Code.Unimplemented,
    message: /^unknown compression ".*": supported encodings are (.*)$/s,
    to: Code.Unimplemented,
    say: (m) => `unsupported request encoding; supported encodings are ${m[1]!.replace(/[^a-z,]/g, "")}`,
  },
  {
    code: Code.InvalidArgument,
    message: /^protocol error: invalid grpc timeout value/,
    to: Code.InvalidArgument,
    say: () => "grpc-timeout must be 1 to 8 digits followed by a unit (H, M, S, m, u or n)",
  },
  {
    code: Code.InvalidArgument,
    message: /^protocol error: invalid connect timeout value/,
    to: Code.InvalidArgument,
    say: () => "connect-timeout-ms must be a whole number of milliseconds of at most 10 digits",
  },
  // protobuf-es names the field (from the schema) and then quotes the value: keep the first part.
  {
    code: Code.InvalidArgument,
    message: /^(cannot decode (?:field|message|enum) [\w.]+ from JSON)/,
    to: Code.InvalidArgument,
    say: (m) => m[1]!,
  },
];

/** The status to send instead of `code` and `message`; undefined when they stand. */
function rewrite(code: Code, message: string): { code: Code; message: string } | undefined {
  for (const f of FAULTS) {
    if (f.code !== code) continue;
    const m = f.message.exec(message);
    if (m !== null) return { code: f.to, message: f.say(m) };
  }
  return undefined;
}

export function withClientFaultsAnswered(handler: UniversalHandler): UniversalHandler {
  const wrapped = async (req: Parameters<UniversalHandler>[0]): Promise<UniversalServerResponse> => {
    let res: UniversalServerResponse;
    try {
      res = await handler(req);
    } catch (err) {
      // connect-es percent-encodes an error message into the gRPC trailer, and throws on a lone
      // surrogate there: one a JSON request body can spell ("\ud800"), which the message quotes.
      // The handler then fails with no response at all.
      const type = req.header.get("content-type") ?? "";
      if (err instanceof URIError && /^application\/grpc(-web)?\+json/.test(type))
        return statusOnly(type, Code.InvalidArgument, "request is not valid JSON for this method");
      throw err;
    }
    const type = res.header?.get("content-type") ?? "";
    if (type.startsWith("application/grpc-web")) return mapFrames(res, GRPC_WEB_TRAILER, rewriteGrpcWebTrailer);
    if (type.startsWith("application/grpc")) {
      // The handler resolves only once its first output exists, so a request that failed to
      // parse has its status in the trailers already.
      if (res.trailer !== undefined) rewriteGrpcTrailer(res.trailer);
      return res;
    }
    if (type.startsWith("application/connect+")) return mapFrames(res, CONNECT_END_STREAM, rewriteEndStream);
    if (res.status >= 400 && type.startsWith("application/json")) return rewriteUnaryError(res);
    return res;
  };
  return Object.assign(wrapped, handler);
}

function rewriteGrpcTrailer(trailer: Headers): boolean {
  const status = trailer.get("grpc-status");
  if (status === null || status === "0") return false;
  const r = rewrite(Number(status) as Code, decode(trailer.get("grpc-message") ?? ""));
  if (r === undefined) return false;
  trailer.set("grpc-status", String(r.code));
  trailer.set("grpc-message", encodeURIComponent(r.message));
  return true;
}

function rewriteGrpcWebTrailer(data: Uint8Array): Uint8Array | undefined {
  const trailer = new Headers();
  for (const line of Buffer.from(data).toString("latin1").split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) trailer.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  if (!rewriteGrpcTrailer(trailer)) return undefined;
  let text = "";
  trailer.forEach((value, key) => (text += `${key}: ${value}\r\n`));
  return Buffer.from(text, "latin1");
}

function rewriteEndStream(data: Uint8Array): Uint8Array | undefined {
  const end = parseJson(data) as { error?: { code?: unknown; message?: unknown } } | undefined;
  const r = rewriteJsonError(end?.error);
  return r === undefined ? undefined : Buffer.from(JSON.stringify({ ...end, error: r }));
}

/** A Connect JSON error ({ code: "internal", message }) rewritten, or undefined when it stands. */
function rewriteJsonError(error: { code?: unknown; message?: unknown } | undefined): { code: string; message: string } | undefined {
  if (typeof error?.code !== "string" || typeof error.message !== "string") return undefined;
  const code = codeFromString(error.code);
  const r = code === undefined ? undefined : rewrite(code, error.message);
  return r === undefined ? undefined : { code: codeToString(r.code), message: r.message };
}

async function rewriteUnaryError(res: UniversalServerResponse): Promise<UniversalServerResponse> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of res.body ?? []) chunks.push(chunk);
  const body = Buffer.concat(chunks);
  const r = rewriteJsonError(parseJson(body) as { code?: unknown; message?: unknown } | undefined);
  if (r === undefined) return { ...res, body: once(body) };
  const replaced = Buffer.from(JSON.stringify(r));
  const header = new Headers(res.header);
  header.set("content-length", String(replaced.byteLength));
  return { ...res, status: CONNECT_HTTP_STATUS[r.code] ?? res.status, header, body: once(replaced) };
}

/** Connect's HTTP status for the codes a rewrite produces. */
const CONNECT_HTTP_STATUS: Record<string, number> = { invalid_argument: 400, unimplemented: 501 };

/** A gRPC or gRPC-web response that carries only a status. */
function statusOnly(contentType: string, code: Code, message: string): UniversalServerResponse {
  const status = { "grpc-status": String(code), "grpc-message": encodeURIComponent(message) };
  if (contentType.startsWith("application/grpc-web")) {
    const text = Buffer.from(
      Object.entries(status)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join(""),
      "latin1",
    );
    const head = Buffer.alloc(5);
    head[0] = GRPC_WEB_TRAILER;
    head.writeUInt32BE(text.byteLength, 1);
    return { status: 200, header: new Headers({ "content-type": contentType }), body: once(Buffer.concat([head, text])) };
  }
  // Trailers-only: the status in the headers, no body.
  return { status: 200, header: new Headers({ "content-type": contentType, ...status }) };
}

/** Passes the body through, rewriting whole frames (5-byte envelope) carrying `flag` with `fn`. */
function mapFrames(res: UniversalServerResponse, flag: number, fn: (data: Uint8Array) => Uint8Array | undefined): UniversalServerResponse {
  const body = res.body;
  if (body === undefined) return res;
  async function* frames(): AsyncGenerator<Uint8Array> {
    for await (const chunk of body!) {
      // connect-es writes each frame as one chunk; anything else passes untouched.
      if (
        chunk.byteLength >= 5 &&
        chunk[0] === flag &&
        Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).readUInt32BE(1) === chunk.byteLength - 5
      ) {
        const data = fn(chunk.subarray(5));
        if (data !== undefined) {
          const header = Buffer.alloc(5);
          header[0] = flag;
          header.writeUInt32BE(data.byteLength, 1);
          yield Buffer.concat([header, data]);
          continue;
        }
      }
      yield chunk;
    }
  }
  return { ...res, body: frames() };
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

function parseJson(data: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(data).toString("utf8"));
  } catch {
    return undefined;
  }
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

// A gate in front of grpc-js on the gRPC port, for the client mistakes grpc-js itself answers
// badly. Each one, with the grpc-js 1.14 code path it replaces:
//
// - Several `authorization` headers. Node keeps only the first in the headers object
//   (util.js toHeaderObject: authorization is a single-value header); the raw list has them all.
//   The gate refuses the call as UNAUTHENTICATED, as the HTTP port does. It also refuses an
//   authorization value grpc-js would silently drop (not printable ASCII), which would
//   otherwise make the call anonymous.
// - A malformed `grpc-timeout`. BaseServerInterceptingCall.handleTimeoutHeader answers
//   INTERNAL `Invalid grpc-timeout value "<the header>"`, echoing the input; its regex is not
//   anchored, so it also accepts values the protocol does not ("abc1S"). The gate answers
//   INVALID_ARGUMENT for any value outside the protocol's `1*8DIGIT unit`.
// - A compressed frame that does not decompress. decompressMessage answers INTERNAL "Failed to
//   decompress message"; an unknown grpc-encoding answers UNIMPLEMENTED quoting the encoding.
// - A body with no complete message (a cut-off frame) or two messages for a unary method.
//   handleUnary answers UNIMPLEMENTED "Received no request message for server streaming method
//   …", where the HTTP port answers INVALID_ARGUMENT for the same bytes.
//   These statuses are sent from inside the call, past any interceptor, so the gate rewrites them
//   as they are written: each stream's respond and sendTrailers pass through rewriteStatus, which
//   returns at once for the statuses calls end with normally.
// - An unknown method. _streamHandler answers UNIMPLEMENTED "The server does not implement the
//   method <path>", echoing the path; the gate answers the same code without it.
//
// The HTTP/2 servers and the handler table are private to grpc-js: gateGrpcStreams fails loudly
// (and the transport tests with it) if a grpc-js upgrade moves them.

import type * as http2 from "node:http2";
import type * as grpc from "@grpc/grpc-js";
import { severalCredentials } from "../services/authenticate.js";
import { countRawHeader, rawHeaderValues } from "./raw-headers.js";

const GRPC_TIMEOUT = /^\d{1,8}[HMSmun]$/;
const INVALID_ARGUMENT = 3;
const UNAUTHENTICATED = 16;
/** What grpc-js accepts as a metadata value (metadata.ts isLegalNonBinaryValue). */
const PRINTABLE = /^[ -~]*$/;
const UNIMPLEMENTED = 12;
const INTERNAL = 13;

/** Statuses grpc-js writes for faults of the request body, and what the client is told instead. */
const BODY_FAULTS: ReadonlyArray<{ code: number; message: RegExp; replace: { code: number; message: string } }> = [
  {
    code: INTERNAL,
    message: /^Failed to decompress message$/,
    replace: { code: INVALID_ARGUMENT, message: "request message could not be decompressed" },
  },
  {
    code: UNIMPLEMENTED,
    message: /^Received message compressed with unsupported encoding/,
    replace: { code: UNIMPLEMENTED, message: "request message uses an unsupported grpc-encoding; use identity, gzip or deflate" },
  },
  {
    code: UNIMPLEMENTED,
    message: /^Received no request message for /,
    replace: { code: INVALID_ARGUMENT, message: "request body holds no complete message" },
  },
  {
    code: UNIMPLEMENTED,
    message: /^Received a second request message for /,
    replace: { code: INVALID_ARGUMENT, message: "request body holds more than the one message this method takes" },
  },
];

interface GrpcJsInternals {
  http2Servers?: unknown;
  handlers?: unknown;
}

type StreamListener = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, raw: string[]) => void;

/** Puts the gate in front of every HTTP/2 server of a bound grpc-js server. */
export function gateGrpcStreams(server: grpc.Server): void {
  const internals = server as unknown as GrpcJsInternals;
  const servers = internals.http2Servers;
  const handlers = internals.handlers;
  if (!(servers instanceof Map) || servers.size === 0 || !(handlers instanceof Map)) {
    throw new Error("grpc-js internals changed: grpc-stream-gate.ts cannot reach its HTTP/2 servers");
  }
  for (const h2 of servers.keys() as IterableIterator<http2.Http2Server>) {
    const inner = h2.listeners("stream") as StreamListener[];
    if (inner.length === 0) throw new Error("grpc-js internals changed: no stream handler to gate");
    h2.removeAllListeners("stream");
    h2.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, raw: string[]) => {
      if (!admit(stream, headers, raw, handlers)) return;
      for (const l of inner) l(stream, headers, flags, raw);
    });
  }
}

/** False when the gate answered the stream itself. */
function admit(
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  raw: string[],
  handlers: Map<unknown, unknown>,
): boolean {
  const contentType = headers["content-type"];
  // Not gRPC at all: grpc-js answers 415, which is right.
  if (typeof contentType !== "string" || !contentType.startsWith("application/grpc")) return true;
  if (!handlers.has(headers[":path"])) return refuse(stream, UNIMPLEMENTED, "unknown service or method");
  const timeout = headers["grpc-timeout"];
  if (timeout !== undefined && (typeof timeout !== "string" || !GRPC_TIMEOUT.test(timeout))) {
    return refuse(stream, INVALID_ARGUMENT, "grpc-timeout must be 1 to 8 digits followed by a unit (H, M, S, m, u or n)");
  }
  // grpc-js drops metadata values it cannot carry (anything outside printable ASCII), so the
  // adapter could see one value where two were sent, or none where one was: judge the raw list.
  const authorizations = countRawHeader(raw, "authorization");
  if (authorizations > 1) return refuse(stream, UNAUTHENTICATED, severalCredentials().publicMessage);
  if (authorizations === 1 && !PRINTABLE.test(rawHeaderValues(raw, "authorization")[0]!)) {
    return refuse(stream, UNAUTHENTICATED, "malformed authorization header: it may contain only printable ASCII characters");
  }
  // Shared functions, not closures: every call passes here.
  original ??= Object.getPrototypeOf(stream) as StreamMethods;
  stream.respond = respondGated;
  stream.sendTrailers = sendTrailersGated;
  return true;
}

type StreamMethods = Pick<http2.ServerHttp2Stream, "respond" | "sendTrailers">;
/** Node's own methods (ServerHttp2Stream's class is not exported: taken from the first stream). */
let original: StreamMethods | undefined;

function respondGated(
  this: http2.ServerHttp2Stream,
  headers?: http2.OutgoingHttpHeaders,
  options?: http2.ServerStreamResponseOptions,
): void {
  original!.respond.call(this, rewriteStatus(headers), options);
}

function sendTrailersGated(this: http2.ServerHttp2Stream, trailers: http2.OutgoingHttpHeaders): void {
  original!.sendTrailers.call(this, rewriteStatus(trailers));
}

/**
 * A trailers-only response, sent once the request body has been read and dropped: answering a
 * stream whose client is still sending left curl, now and then, waiting for an answer it never
 * saw. A client that never finishes sending is answered after REFUSE_WAIT_MS all the same.
 */
function refuse(stream: http2.ServerHttp2Stream, code: number, message: string): false {
  stream.on("error", () => undefined);
  let timer: NodeJS.Timeout | undefined;
  const respond = (): void => {
    clearTimeout(timer);
    if (stream.destroyed || stream.headersSent) return;
    stream.respond(
      { ":status": 200, "content-type": "application/grpc+proto", "grpc-status": String(code), "grpc-message": encodeURI(message) },
      { endStream: true },
    );
  };
  if (stream.readableEnded) {
    respond();
    return false;
  }
  timer = setTimeout(respond, REFUSE_WAIT_MS);
  stream.once("end", respond);
  stream.once("close", () => clearTimeout(timer));
  stream.resume();
  return false;
}

const REFUSE_WAIT_MS = 5000;

function rewriteStatus<T extends http2.OutgoingHttpHeaders | undefined>(headers: T): T {
  const status = headers?.["grpc-status"];
  if (status === undefined || status === 0 || status === "0") return headers;
  const code = Number(status);
  const message = decode(String(headers!["grpc-message"] ?? ""));
  for (const f of BODY_FAULTS) {
    if (f.code === code && f.message.test(message)) {
      return { ...headers, "grpc-status": String(f.replace.code), "grpc-message": encodeURI(f.replace.message) };
    }
  }
  return headers;
}

function decode(s: string): string {
  try {
    return decodeURI(s);
  } catch {
    return s;
  }
}

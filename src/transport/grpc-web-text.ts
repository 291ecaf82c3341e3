// gRPC-web's text mode (`application/grpc-web-text`, PROTOCOL-WEB.md): the binary gRPC-web
// framing, base64-encoded in both directions. The official grpc-web JS client uses it by default,
// and needs it for server streaming. connect-es recognises the content type but answers it 415,
// so the HTTP edge translates: the request body is decoded and handed on as
// `application/grpc-web+proto`, and the response body is encoded on its way out. Every method
// stays served by the one handler, with its interceptors, size caps and error mapping.

import { Code, ConnectError } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerRequest, UniversalServerResponse } from "@connectrpc/connect/protocol";

/** The text types the official client and Envoy's grpc_web filter use; parameters are ignored. */
const TEXT_CONTENT_TYPE = /^application\/grpc-web-text(?:\+proto)?\s*(?:;.*)?$/is;
const BINARY_CONTENT_TYPE = "application/grpc-web+proto";
/** What the response says it is, as Envoy's grpc_web filter answers a text request. */
const RESPONSE_CONTENT_TYPE = "application/grpc-web-text+proto";

export function withGrpcWebText(handler: UniversalHandler): UniversalHandler {
  const wrapped = async (req: UniversalServerRequest): Promise<UniversalServerResponse> => {
    if (!TEXT_CONTENT_TYPE.test(req.header.get("content-type") ?? "")) return handler(req);
    const body = req.body;
    // Always a byte stream from http-server.ts (it never hands over a parsed JSON body).
    if (typeof body !== "object" || body === null || !(Symbol.asyncIterator in body)) return handler(req);
    const header = new Headers(req.header);
    header.set("content-type", BINARY_CONTENT_TYPE);
    // It counted base64 characters, not the bytes the handler reads.
    header.delete("content-length");
    return encodeResponse(await handler({ ...req, header, body: decodeBase64(body as AsyncIterable<Uint8Array>) }));
  };
  return Object.assign(wrapped, handler);
}

function encodeResponse(res: UniversalServerResponse): UniversalServerResponse {
  // Anything but gRPC-web (a 405 for a GET, say) carries no frames and goes out as it is.
  if (!(res.header?.get("content-type") ?? "").startsWith("application/grpc-web")) return res;
  const header = new Headers(res.header);
  header.set("content-type", RESPONSE_CONTENT_TYPE);
  header.delete("content-length");
  const body = res.body;
  if (body === undefined) return { ...res, header };
  return { ...res, header, body: encodeBase64(body) };
}

/**
 * Each chunk encoded on its own, padding included. connect-es yields one chunk per frame, so every
 * message and the trailer frame reach the client as soon as they exist, and a client decoding the
 * stream four characters at a time (as the official one does) never waits for the next frame to
 * finish the last one. Padding in mid-stream is what the protocol expects of a server that flushes
 * frames one at a time; Envoy's filter encodes frame by frame the same way.
 */
async function* encodeBase64(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const chunk of body) {
    if (chunk.byteLength === 0) continue;
    yield Buffer.from(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString("base64"), "latin1");
  }
}

/** Any character outside base64's alphabet and its padding. */
const NOT_BASE64 = /[^A-Za-z0-9+/=]/;

function invalidBase64(): ConnectError {
  return new ConnectError("request body is not valid base64 (content type application/grpc-web-text)", Code.InvalidArgument);
}

/**
 * Decodes the body as it arrives, in whole groups of four characters, wherever the chunks split
 * it. A group may end in padding anywhere in the stream (a client that concatenates separately
 * encoded frames sends that), and the last group may leave its padding out. Any other character,
 * padding that does not end a group, or a lone character at the end fails the call with
 * INVALID_ARGUMENT. Nothing is skipped (not even whitespace), so every four characters read yield
 * at least one byte for the size cap to count: no body keeps the server reading without end.
 */
async function* decodeBase64(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let carry = ""; // the start of a group that the next chunk completes
  for await (const chunk of body) {
    const text = carry + Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString("latin1");
    const whole = text.length - (text.length % 4);
    carry = text.slice(whole);
    if (whole > 0) yield decodeGroups(text.slice(0, whole));
  }
  // An unpadded last group: 2 characters make one byte, 3 make two; 1 makes none and is an error.
  if (carry.length > 0) yield decodeGroups(carry.padEnd(4, "="));
}

/** Whole groups of four characters, each possibly padded. */
function decodeGroups(text: string): Buffer {
  if (NOT_BASE64.test(text)) throw invalidBase64();
  // Node's decoder stops at the first padding, so the text is decoded up to the end of each
  // padded group, one such segment after another. Padding may fill the last one or two places
  // of a group: a third place only if the fourth is padding too.
  const parts: Buffer[] = [];
  let from = 0;
  for (let at = text.indexOf("=", from); at !== -1; at = text.indexOf("=", from)) {
    const place = at % 4;
    if (place < 2 || (place === 2 && text[at + 1] !== "=")) throw invalidBase64();
    const end = at - place + 4;
    parts.push(Buffer.from(text.slice(from, end), "base64"));
    from = end;
  }
  if (from < text.length) parts.push(Buffer.from(text.slice(from), "base64"));
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

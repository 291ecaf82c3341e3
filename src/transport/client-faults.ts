// connect-es reports three faults of the request itself as INTERNAL: a message that does not parse
// as protobuf ("parse binary: premature EOF", from its serialization.ts), a compressed body that
// does not decompress (a truncated gzip stream), and a compressed frame sent without declaring an
// encoding. The fault is the client's, the gRPC port answers INVALID_ARGUMENT for the same bytes,
// and INTERNAL must only ever mean a bug of ours. These statuses are set before any interceptor
// runs, so this wraps each universal handler and rewrites exactly them, wherever the protocol
// carries its status: the JSON body of a Connect unary error, the trailers of gRPC, the trailer
// frame of gRPC-web, the end-of-stream frame of a Connect stream.

import type { UniversalHandler } from '@connectrpc/connect/protocol';
import type { UniversalServerResponse } from '@connectrpc/connect/protocol';

const GRPC_INTERNAL = '13';
const GRPC_INVALID_ARGUMENT = '3';
/** gRPC-web's trailer frame and Connect's end-of-stream frame: the flag bytes that mark them. */
const GRPC_WEB_TRAILER = 0x80;
const CONNECT_END_STREAM = 0x02;

/** connect-es's message for a client fault, and what the client is told instead. */
const FAULTS: ReadonlyArray<readonly [RegExp, string]> = [
  [/^parse binary: /, 'request is not a valid protobuf message'],
  [/^decompression failed$/, 'request body could not be decompressed'],
  [/^received compressed envelope, but do not know how to decompress$/, 'request frame is compressed but no encoding was declared'],
];

/** The public message for an INTERNAL status that was really the client's fault; undefined otherwise. */
function clientFault(message: string): string | undefined {
  for (const [re, public_] of FAULTS) if (re.test(message)) return public_;
  return undefined;
}

export function withClientFaultsAsInvalidArgument(handler: UniversalHandler): UniversalHandler {
  const wrapped = async (req: Parameters<UniversalHandler>[0]): Promise<UniversalServerResponse> => {
    const res = await handler(req);
    const type = res.header?.get('content-type') ?? '';
    if (type.startsWith('application/grpc-web')) return mapFrames(res, GRPC_WEB_TRAILER, rewriteGrpcWebTrailer);
    if (type.startsWith('application/grpc')) {
      // The handler resolves only once its first output exists, so a request that failed to
      // parse has its status in the trailers already.
      if (res.trailer !== undefined) rewriteGrpcTrailer(res.trailer);
      return res;
    }
    if (type.startsWith('application/connect+')) return mapFrames(res, CONNECT_END_STREAM, rewriteEndStream);
    if (res.status >= 500 && type.startsWith('application/json')) return rewriteUnaryError(res);
    return res;
  };
  return Object.assign(wrapped, handler);
}

function rewriteGrpcTrailer(trailer: Headers): void {
  if (trailer.get('grpc-status') !== GRPC_INTERNAL) return;
  const message = clientFault(decode(trailer.get('grpc-message') ?? ''));
  if (message === undefined) return;
  trailer.set('grpc-status', GRPC_INVALID_ARGUMENT);
  trailer.set('grpc-message', encodeURIComponent(message));
}

function rewriteGrpcWebTrailer(data: Uint8Array): Uint8Array | undefined {
  const trailer = new Headers();
  for (const line of Buffer.from(data).toString('latin1').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) trailer.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  if (trailer.get('grpc-status') !== GRPC_INTERNAL) return undefined;
  rewriteGrpcTrailer(trailer);
  if (trailer.get('grpc-status') === GRPC_INTERNAL) return undefined;
  let text = '';
  trailer.forEach((value, key) => (text += `${key}: ${value}\r\n`));
  return Buffer.from(text, 'latin1');
}

function rewriteEndStream(data: Uint8Array): Uint8Array | undefined {
  const end = parseJson(data) as { error?: { code?: unknown; message?: unknown } } | undefined;
  const error = end?.error;
  if (error?.code !== 'internal' || typeof error.message !== 'string') return undefined;
  const message = clientFault(error.message);
  if (message === undefined) return undefined;
  return Buffer.from(JSON.stringify({ ...end, error: { code: 'invalid_argument', message } }));
}

async function rewriteUnaryError(res: UniversalServerResponse): Promise<UniversalServerResponse> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of res.body ?? []) chunks.push(chunk);
  const body = Buffer.concat(chunks);
  const error = parseJson(body) as { code?: unknown; message?: unknown } | undefined;
  const message = error?.code === 'internal' && typeof error.message === 'string' ? clientFault(error.message) : undefined;
  if (message === undefined) return { ...res, body: once(body) };
  const replaced = Buffer.from(JSON.stringify({ code: 'invalid_argument', message }));
  const header = new Headers(res.header);
  header.set('content-length', String(replaced.byteLength));
  return { ...res, status: 400, header, body: once(replaced) };
}

/** Passes the body through, rewriting whole frames (5-byte envelope) carrying `flag` with `fn`. */
function mapFrames(res: UniversalServerResponse, flag: number, fn: (data: Uint8Array) => Uint8Array | undefined): UniversalServerResponse {
  const body = res.body;
  if (body === undefined) return res;
  async function* frames(): AsyncGenerator<Uint8Array> {
    for await (const chunk of body!) {
      // connect-es writes each frame as one chunk; anything else passes untouched.
      if (chunk.byteLength >= 5 && chunk[0] === flag && Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).readUInt32BE(1) === chunk.byteLength - 5) {
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
    return JSON.parse(Buffer.from(data).toString('utf8'));
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

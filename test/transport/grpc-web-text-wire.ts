/**
 * A hand-written gRPC-web text-mode client over HTTP/1.1, following PROTOCOL-WEB.md: the request
 * is base64 of the gRPC-web framing, sent in whatever pieces the test chooses; the response is
 * decoded as it arrives, four characters at a time (padding may end any group, as it does where a
 * server flushes a frame), into frames handed out as soon as each is complete.
 */
import http from "node:http";

export const TEXT = "application/grpc-web-text";

export interface Frame {
  flags: number;
  data: Buffer;
}

export interface TextResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The frames, each as soon as its last byte is decoded. */
  frames: AsyncIterable<Frame>;
  /** The base64 text received so far. */
  text(): string;
  close(): void;
}

/** A gRPC-web frame: flags, 4-byte length, data. */
export function frame(data: Uint8Array, flags = 0): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(data.byteLength, 1);
  return Buffer.concat([head, data]);
}

/**
 * POSTs `pieces` (base64 text, each written as its own chunk, a few milliseconds apart) to
 * `path`; resolves once the response headers are in.
 */
export function textCall(
  port: number,
  path: string,
  pieces: string[],
  headers: Record<string, string | string[]> = {},
  contentType = TEXT,
): Promise<TextResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: "127.0.0.1",
      port,
      path,
      method: "POST",
      headers: { "content-type": contentType, accept: TEXT, "x-grpc-web": "1", ...headers },
    });
    req.on("error", reject);
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("latin1");
      const frames = decodeFrames(
        (async function* () {
          for await (const chunk of res as AsyncIterable<string>) {
            text += chunk;
            yield chunk;
          }
        })(),
      );
      resolve({ status: res.statusCode ?? 0, headers: res.headers, frames, text: () => text, close: () => req.destroy() });
    });
    void (async () => {
      for (const [i, piece] of pieces.entries()) {
        if (i > 0) await new Promise((r) => setTimeout(r, 5));
        if (!req.write(piece, "latin1")) await new Promise((r) => req.once("drain", r));
      }
      req.end();
    })().catch(reject);
  });
}

/** Base64 text in chunks → frames, decoding each complete group of four characters on arrival. */
export async function* decodeFrames(chunks: AsyncIterable<string> | Iterable<string>): AsyncGenerator<Frame> {
  let pending = ""; // fewer than four characters, waiting for the rest of their group
  let bytes: Buffer = Buffer.alloc(0);
  for await (const chunk of chunks) {
    pending += chunk;
    const whole = pending.length - (pending.length % 4);
    const decoded: Buffer[] = [bytes];
    for (let i = 0; i < whole; i += 4) decoded.push(decodeGroup(pending.slice(i, i + 4)));
    pending = pending.slice(whole);
    bytes = Buffer.concat(decoded);
    while (bytes.length >= 5 && bytes.length >= 5 + bytes.readUInt32BE(1)) {
      const len = bytes.readUInt32BE(1);
      yield { flags: bytes[0]!, data: bytes.subarray(5, 5 + len) };
      bytes = bytes.subarray(5 + len);
    }
  }
  if (pending.length > 0 || bytes.length > 0) throw new Error(`response ends inside a frame or a base64 group`);
}

function decodeGroup(group: string): Buffer {
  if (!/^[A-Za-z0-9+/]{2}(?:[A-Za-z0-9+/]{2}|[A-Za-z0-9+/]=|==)$/.test(group)) throw new Error(`not a base64 group: ${group}`);
  return Buffer.from(group, "base64");
}

/** Every frame of a response that ends, and its status from the trailer frame. */
export async function readAll(res: TextResponse): Promise<{ messages: Buffer[]; code: number; message: string; trailer: Frame }> {
  const messages: Buffer[] = [];
  let trailer: Frame | undefined;
  for await (const f of res.frames) {
    if (trailer !== undefined) throw new Error("a frame after the trailer frame");
    if ((f.flags & 0x80) !== 0) trailer = f;
    else messages.push(f.data);
  }
  if (trailer === undefined) throw new Error("no trailer frame");
  const fields = parseTrailer(trailer.data);
  return { messages, code: Number(fields["grpc-status"]), message: decodeURIComponent(fields["grpc-message"] ?? ""), trailer };
}

function parseTrailer(data: Buffer): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of data.toString("latin1").split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) fields[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return fields;
}

/**
 * Sends one fuzz case over a real connection with exactly its headers and body bytes.
 *
 * - HTTP/1.1: raw bytes on a fresh socket (`connection: close`), response parsed here. node:http's
 *   client would refuse half of what the cases send (duplicate or non-ASCII header values).
 * - HTTP/2 (h2c with prior knowledge, on either port): node:http2's client does the framing, flow
 *   control and response decoding, but it refuses to send two values of `authorization` or
 *   `content-type`, so its HEADERS frame is swapped on the way out for one encoded here (HPACK
 *   literals without indexing: the server's table stays empty, and nothing refers back to it).
 *
 * One connection per case: a case that breaks its connection cannot fail the cases beside it,
 * which keeps the outcome of every case the same whatever runs next to it.
 */
import * as http2 from "node:http2";
import * as net from "node:net";
import { Duplex } from "node:stream";
import type { FuzzCase } from "./cases.js";

export interface RawResponse {
  /** `http`: a response (possibly cut short by us after the first stream message); else what happened. */
  kind: "http" | "reset" | "closed" | "timeout" | "unsendable";
  status?: number;
  headers: Map<string, string[]>;
  body: Buffer;
  trailers: Map<string, string[]>;
  /** RST_STREAM code from the server, when it reset the stream. */
  rstCode?: number;
  /** Free text: socket error, GOAWAY, why it could not be sent. */
  detail?: string;
}

export interface Ports {
  grpcPort: number;
  httpPort: number;
}

export interface SendOptions {
  /** Generous: no case is expected to take more than a second, but the machine may be busy. */
  timeoutMs: number;
}

export function send(c: FuzzCase, ports: Ports, opts: SendOptions): Promise<RawResponse> {
  const port = c.listener === "grpc" ? ports.grpcPort : ports.httpPort;
  return c.wire === "h1" ? sendH1(c, port, opts) : sendH2(c, port, opts);
}

const empty = (): Map<string, string[]> => new Map();

function addHeader(m: Map<string, string[]>, name: string, value: string): void {
  const k = name.toLowerCase();
  const v = m.get(k);
  if (v === undefined) m.set(k, [value]);
  else v.push(value);
}

/** Whether `body` holds at least one complete 5-byte-envelope message (the first of a stream). */
function hasEnvelope(body: Buffer): boolean {
  return body.length >= 5 && body.length >= 5 + body.readUInt32BE(1);
}

// ---- HTTP/1.1 ----

function sendH1(c: FuzzCase, port: number, opts: SendOptions): Promise<RawResponse> {
  const lines = [`${c.httpMethod} ${c.path} HTTP/1.1`, `host: 127.0.0.1:${port}`, "connection: close", `content-length: ${c.body.length}`];
  for (const [k, v] of c.headers) lines.push(`${k}: ${v}`);
  const head = Buffer.from(lines.join("\r\n") + "\r\n\r\n", "latin1");
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    let data: Buffer = Buffer.alloc(0);
    let settled = false;
    const finish = (r: RawResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    // A response still incomplete after the timeout is a hang, whatever part of it arrived.
    const timer = setTimeout(
      () =>
        finish({
          kind: "timeout",
          headers: empty(),
          body: data,
          trailers: empty(),
          detail: data.length > 0 ? "incomplete response" : "no response",
        }),
      opts.timeoutMs,
    );
    socket.on("data", (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const r = parseH1(data, false, c.streaming);
      if (r) finish(r);
    });
    socket.on("end", () =>
      finish(
        parseH1(data, true) ?? {
          kind: "closed",
          headers: empty(),
          body: data,
          trailers: empty(),
          detail: "connection closed without a response",
        },
      ),
    );
    socket.on("error", (err: NodeJS.ErrnoException) => {
      // The server may answer and close before reading the whole body (EPIPE, ECONNRESET):
      // what it answered is still the answer.
      finish(parseH1(data, true) ?? { kind: "closed", headers: empty(), body: data, trailers: empty(), detail: err.code ?? err.message });
    });
    socket.write(Buffer.concat([head, c.body]));
  });
}

/**
 * Parses a complete HTTP/1.1 response from `data`, or returns undefined if more is needed.
 * `eof`: the connection ended, so a body without a length ends here. For a stream, the first
 * complete message is enough.
 */
function parseH1(data: Buffer, eof: boolean, streaming = false): RawResponse | undefined {
  const end = data.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const lines = data.subarray(0, end).toString("latin1").split("\r\n");
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "");
  if (m === null)
    return eof ? { kind: "closed", headers: empty(), body: data, trailers: empty(), detail: "not an HTTP response" } : undefined;
  const headers = empty();
  for (const l of lines.slice(1)) {
    const i = l.indexOf(":");
    if (i > 0) addHeader(headers, l.slice(0, i).trim(), l.slice(i + 1).trim());
  }
  const status = Number(m[1]);
  const rest = data.subarray(end + 4);
  const trailers = empty();
  const r = (body: Buffer): RawResponse => ({ kind: "http", status, headers, body, trailers });
  if ((headers.get("transfer-encoding") ?? []).some((v) => v.toLowerCase().includes("chunked"))) {
    // Chunks, then a zero chunk, trailer lines and an empty line.
    const parts: Buffer[] = [];
    let at = 0;
    for (;;) {
      const nl = rest.indexOf("\r\n", at);
      if (nl < 0) break;
      const size = parseInt(rest.subarray(at, nl).toString("latin1"), 16);
      if (!Number.isFinite(size)) break;
      if (size === 0) {
        const tEnd = rest.indexOf("\r\n\r\n", nl);
        const tail = tEnd >= 0 ? rest.subarray(nl + 2, tEnd) : rest.indexOf("\r\n", nl + 2) === nl + 2 ? Buffer.alloc(0) : undefined;
        if (tail === undefined) break;
        for (const l of tail.toString("latin1").split("\r\n")) {
          const i = l.indexOf(":");
          if (i > 0) addHeader(trailers, l.slice(0, i).trim(), l.slice(i + 1).trim());
        }
        return r(Buffer.concat(parts));
      }
      if (rest.length < nl + 2 + size + 2) break;
      parts.push(rest.subarray(nl + 2, nl + 2 + size));
      at = nl + 2 + size + 2;
    }
    const sofar = Buffer.concat(parts);
    if (streaming && status === 200 && hasEnvelope(sofar)) return r(sofar);
    return eof ? r(sofar) : undefined;
  }
  const cl = headers.get("content-length")?.[0];
  if (cl !== undefined) {
    const n = Number(cl);
    if (rest.length >= n) return r(rest.subarray(0, n));
    return eof ? r(rest) : undefined;
  }
  if (streaming && status === 200 && hasEnvelope(rest)) return r(rest);
  return eof ? r(rest) : undefined;
}

// ---- HTTP/2 ----

/** HPACK integer with an N-bit prefix (RFC 7541 §5.1). */
function hpackInt(value: number, prefixBits: number, firstByteFlags: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([firstByteFlags | value]);
  const out = [firstByteFlags | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

/** Literal header field without indexing, new name, no Huffman (RFC 7541 §6.2.2). */
function hpackLiteral(name: string, value: string): Buffer {
  const n = Buffer.from(name, "latin1");
  const v = Buffer.from(value, "latin1");
  return Buffer.concat([Buffer.from([0x00]), hpackInt(n.length, 7, 0), n, hpackInt(v.length, 7, 0), v]);
}

function headerBlock(c: FuzzCase, port: number): Buffer {
  const fields: Array<[string, string]> = [
    [":method", c.httpMethod],
    [":scheme", "http"],
    [":path", c.path],
    [":authority", `127.0.0.1:${port}`],
    // HTTP/2 header names are lower case; an upper-case one would only test nghttp2.
    ...c.headers.map(([k, v]) => [k.toLowerCase(), v] as [string, string]),
  ];
  return Buffer.concat(fields.map(([k, v]) => hpackLiteral(k, v)));
}

const FRAME_HEADERS = 0x1;
const FRAME_CONTINUATION = 0x9;
const FLAG_END_STREAM = 0x1;
const FLAG_END_HEADERS = 0x4;
const MAX_FRAME = 16384;

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId, 5);
  return Buffer.concat([h, payload]);
}

/**
 * The socket node:http2's client session writes to: passes every frame through except the
 * request's HEADERS (and any CONTINUATION), which it replaces with `block`.
 */
class HeadersSwap extends Duplex {
  private out: Buffer = Buffer.alloc(0);
  private prefaceLeft = 24;
  private dropping = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly block: Buffer,
  ) {
    super();
    socket.on("data", (d: Buffer) => {
      if (!this.push(d)) socket.pause();
    });
    socket.on("end", () => this.push(null));
    socket.on("error", (err) => this.destroy(err));
    socket.on("close", () => this.destroy());
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.out = Buffer.concat([this.out, chunk]);
    const pass: Buffer[] = [];
    if (this.prefaceLeft > 0) {
      const n = Math.min(this.prefaceLeft, this.out.length);
      pass.push(this.out.subarray(0, n));
      this.out = this.out.subarray(n);
      this.prefaceLeft -= n;
    }
    while (this.prefaceLeft === 0 && this.out.length >= 9) {
      const len = this.out.readUIntBE(0, 3);
      if (this.out.length < 9 + len) break;
      const f = this.out.subarray(0, 9 + len);
      this.out = this.out.subarray(9 + len);
      const type = f[3]!;
      const flags = f[4]!;
      const streamId = f.readUInt32BE(5) & 0x7fffffff;
      if (type === FRAME_HEADERS) {
        this.dropping = (flags & FLAG_END_HEADERS) === 0;
        for (let i = 0; i < this.block.length || i === 0; i += MAX_FRAME) {
          const part = this.block.subarray(i, i + MAX_FRAME);
          const last = i + MAX_FRAME >= this.block.length;
          const fl = (last ? FLAG_END_HEADERS : 0) | (i === 0 ? flags & FLAG_END_STREAM : 0);
          pass.push(frame(i === 0 ? FRAME_HEADERS : FRAME_CONTINUATION, fl, streamId, part));
        }
      } else if (type === FRAME_CONTINUATION && this.dropping) {
        this.dropping = (flags & FLAG_END_HEADERS) === 0;
      } else {
        pass.push(f);
      }
    }
    if (pass.length === 0) {
      cb();
      return;
    }
    this.socket.write(Buffer.concat(pass), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.socket.end(cb);
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    this.socket.destroy();
    cb(err);
  }
}

function sendH2(c: FuzzCase, port: number, opts: SendOptions): Promise<RawResponse> {
  return new Promise((resolve) => {
    let settled = false;
    const headers = empty();
    const trailers = empty();
    const chunks: Buffer[] = [];
    let status: number | undefined;
    let goaway: string | undefined;
    const socket = net.connect(port, "127.0.0.1");
    const session = http2.connect(`http://127.0.0.1:${port}`, {
      createConnection: () => new HeadersSwap(socket, headerBlock(c, port)),
      // Large enough for responses to come back in one window; we send at most a few MiB.
      settings: { initialWindowSize: 8 * 1024 * 1024 },
    });
    const body = () => Buffer.concat(chunks);
    const finish = (r: Omit<RawResponse, "headers" | "trailers" | "body"> & Partial<RawResponse>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      resolve({ headers, trailers, body: body(), ...r });
    };
    const timer = setTimeout(
      () => finish({ kind: "timeout", detail: status !== undefined ? `headers (${status}) but no end` : "no response" }),
      opts.timeoutMs,
    );
    session.on("error", (err: NodeJS.ErrnoException) => {
      finish(
        status !== undefined
          ? { kind: "http", status, detail: err.code }
          : { kind: "closed", detail: `session error ${err.code ?? err.message}` },
      );
    });
    session.on("goaway", (code) => {
      goaway = `GOAWAY ${code}`;
    });
    let req: http2.ClientHttp2Stream;
    try {
      // The real pseudo-headers and headers go out in headerBlock; these only satisfy the client.
      req = session.request({ ":method": c.httpMethod, ":path": "/" }, { endStream: c.body.length === 0 });
    } catch (err) {
      finish({ kind: "unsendable", detail: (err as Error).message });
      return;
    }
    req.on("response", (h) => {
      for (const [k, v] of Object.entries(h)) {
        if (k === ":status") status = Number(v);
        else for (const x of Array.isArray(v) ? v : [v]) addHeader(headers, k, String(x));
      }
    });
    req.on("trailers", (t) => {
      for (const [k, v] of Object.entries(t)) for (const x of Array.isArray(v) ? v : [v]) addHeader(trailers, k, String(x));
    });
    req.on("data", (d: Buffer) => {
      chunks.push(d);
      // A server stream that delivered its first message is serving; we stop there.
      if (c.streaming && status === 200 && hasEnvelope(body())) {
        req.close(http2.constants.NGHTTP2_CANCEL);
        finish({ kind: "http", status });
      }
    });
    req.on("error", () => undefined); // 'close' carries the outcome
    req.on("close", () => {
      if (status !== undefined && req.rstCode === http2.constants.NGHTTP2_NO_ERROR) finish({ kind: "http", status });
      else if (status !== undefined) finish({ kind: "http", status, rstCode: req.rstCode });
      else finish({ kind: "reset", rstCode: req.rstCode, ...(goaway !== undefined && { detail: goaway }) });
    });
    if (c.body.length > 0) req.end(c.body);
  });
}

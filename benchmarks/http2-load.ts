/**
 * A small gRPC-over-HTTP/2 load generator for runs where every request needs its own body
 * (distinct tokens), which h2load cannot do.
 *
 * Node's own http2 client costs tens of microseconds per request — on a 2-core machine that is CPU
 * taken from the server being measured — so this one speaks the protocol directly, as h2load
 * does: prior-knowledge h2c, request HEADERS from a fixed HPACK block (literals only, no dynamic
 * table), one DATA frame per body, large receive windows, and response frames parsed just enough
 * to collect each stream's DATA. Every answer is decoded: a VerifyResponse's status is counted, a
 * stream that ends without a message (a gRPC error is a trailers-only response) counts as
 * `no-message`, a reset as `rst`, so a run of errors can never pass for a fast run.
 */
import net from "node:net";
import { decodeVerifyResponse, statusName } from "./grpc-body.js";
import { percentiles, type Percentiles } from "./stats.js";

export interface Http2LoadOptions {
  port: number;
  path: string;
  authorization: string;
  sessions: number;
  inFlight: number;
  /** The i-th request's body (a complete gRPC frame). */
  body: (i: number) => Buffer;
  /** Timed mode: warm up, then measure this long. */
  warmupMs?: number;
  durationMs?: number;
  /** Count mode: send exactly this many requests (cache fills), then stop. */
  requests?: number;
  /** Called at the start and end of the measured window (to snapshot server CPU). */
  onWindow?: (edge: "start" | "end") => Promise<void> | void;
}

export interface Http2LoadResult {
  completed: number;
  durationMs: number;
  rps: number;
  /** VerifyResponse statuses (and no-message / rst / undecodable) over the measured window. */
  outcomes: Record<string, number>;
  latencyUs: Percentiles;
}

// ---- HTTP/2 framing (RFC 9113) and the bits of HPACK (RFC 7541) a fixed request needs

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PING = 0x6;
const GOAWAY = 0x7;
const WINDOW_UPDATE = 0x8;
const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const BIG_WINDOW = 0x7fffffff;

function frameHeader(length: number, type: number, flags: number, stream: number): Buffer {
  const h = Buffer.allocUnsafe(9);
  h.writeUIntBE(length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream & 0x7fffffff, 5);
  return h;
}

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  return Buffer.concat([frameHeader(payload.length, type, flags, stream), payload]);
}

/** HPACK integer with an N-bit prefix. */
function hpackInt(value: number, prefixBits: number, firstByteHigh: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [firstByteHigh | value];
  const out = [firstByteHigh | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

const hpackString = (s: string): number[] => [...hpackInt(Buffer.byteLength(s), 7, 0), ...Buffer.from(s, "latin1")];

/** Literal header field without indexing: with a static-table name index, or a new name (index 0). */
const literal = (nameIndex: number, value: string, name?: string): number[] => [
  ...hpackInt(nameIndex, 4, 0x00),
  ...(nameIndex === 0 ? hpackString(name!) : []),
  ...hpackString(value),
];

function requestHeaderBlock(port: number, path: string, authorization: string): Buffer {
  return Buffer.from([
    0x83, // :method POST (static 3)
    0x86, // :scheme http (static 6)
    ...literal(4, path), // :path
    ...literal(1, `127.0.0.1:${port}`), // :authority
    ...literal(31, "application/grpc"), // content-type
    ...literal(0, "trailers", "te"),
    ...literal(23, authorization), // authorization
  ]);
}

// ---- one connection

interface Stream {
  t0: number;
  data: Buffer[];
}

class Connection {
  readonly #socket: net.Socket;
  readonly #headerBlock: Buffer;
  readonly #streams = new Map<number, Stream>();
  #nextStream = 1;
  #buf: Buffer = Buffer.alloc(0);
  #out: Buffer[] = [];
  #sendWindow = 65_535;
  #received = 0;
  #waiting: Buffer[] = [];
  onComplete: (outcome: string, t0: number) => void = () => undefined;
  onError: (err: Error) => void = () => undefined;

  constructor(socket: net.Socket, headerBlock: Buffer) {
    this.#socket = socket;
    this.#headerBlock = headerBlock;
    const settings = Buffer.alloc(6);
    settings.writeUInt16BE(0x4, 0); // SETTINGS_INITIAL_WINDOW_SIZE
    settings.writeUInt32BE(BIG_WINDOW, 2);
    const inc = Buffer.alloc(4);
    inc.writeUInt32BE(BIG_WINDOW - 65_535);
    socket.write(Buffer.concat([PREFACE, frame(SETTINGS, 0, 0, settings), frame(WINDOW_UPDATE, 0, 0, inc)]));
    socket.on("data", (chunk: Buffer) => {
      try {
        this.#read(chunk);
      } catch (err) {
        this.onError(err as Error);
      }
      this.flush();
    });
    socket.on("error", (err) => this.onError(err));
    socket.on("close", () => {
      if (this.#streams.size > 0) this.onError(new Error(`connection closed with ${this.#streams.size} streams open`));
    });
  }

  get open(): number {
    return this.#streams.size;
  }

  /** Queues one request; frames go out on the next flush(). */
  send(body: Buffer): void {
    const id = this.#nextStream;
    this.#nextStream += 2;
    this.#streams.set(id, { t0: performance.now(), data: [] });
    const frames = Buffer.concat([
      frameHeader(this.#headerBlock.length, HEADERS, END_HEADERS, id),
      this.#headerBlock,
      frameHeader(body.length, DATA, END_STREAM, id),
      body,
    ]);
    if (this.#sendWindow >= body.length && this.#waiting.length === 0) {
      this.#sendWindow -= body.length;
      this.#out.push(frames);
    } else {
      this.#waiting.push(frames);
    }
  }

  flush(): void {
    if (this.#out.length === 0) return;
    this.#socket.write(this.#out.length === 1 ? this.#out[0]! : Buffer.concat(this.#out));
    this.#out = [];
  }

  close(): void {
    this.#streams.clear();
    this.#socket.destroy();
  }

  #read(chunk: Buffer): void {
    const buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    let off = 0;
    while (buf.length - off >= 9) {
      const len = buf.readUIntBE(off, 3);
      if (buf.length - off < 9 + len) break;
      const type = buf[off + 3]!;
      const flags = buf[off + 4]!;
      const stream = buf.readUInt32BE(off + 5) & 0x7fffffff;
      const payload = buf.subarray(off + 9, off + 9 + len);
      off += 9 + len;
      this.#frame(type, flags, stream, payload);
    }
    this.#buf = off === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(off));
  }

  #frame(type: number, flags: number, id: number, payload: Buffer): void {
    switch (type) {
      case DATA: {
        let data = payload;
        if (flags & PADDED) data = payload.subarray(1, payload.length - payload[0]!);
        this.#received += payload.length;
        if (this.#received > 1 << 30) {
          const inc = Buffer.alloc(4);
          inc.writeUInt32BE(this.#received);
          this.#out.push(frame(WINDOW_UPDATE, 0, 0, inc));
          this.#received = 0;
        }
        const s = this.#streams.get(id);
        if (s !== undefined) {
          if (data.length > 0) s.data.push(Buffer.from(data));
          if (flags & END_STREAM) this.#end(id, s);
        }
        return;
      }
      case HEADERS: {
        const s = this.#streams.get(id);
        if (s !== undefined && flags & END_STREAM) this.#end(id, s);
        return;
      }
      case RST_STREAM: {
        const s = this.#streams.get(id);
        if (s !== undefined) {
          this.#streams.delete(id);
          this.onComplete("rst", s.t0);
        }
        return;
      }
      case SETTINGS:
        if (!(flags & ACK)) this.#out.push(frame(SETTINGS, ACK, 0, Buffer.alloc(0)));
        return;
      case PING:
        if (!(flags & ACK)) this.#out.push(frame(PING, ACK, 0, Buffer.from(payload)));
        return;
      case GOAWAY:
        throw new Error(`server sent GOAWAY (error code ${payload.readUInt32BE(4)})`);
      case WINDOW_UPDATE:
        if (id === 0) {
          this.#sendWindow += payload.readUInt32BE(0) & 0x7fffffff;
          while (this.#waiting.length > 0) {
            const f = this.#waiting[0]!;
            const bodyLen = f.length - 9 - this.#headerBlock.length - 9;
            if (this.#sendWindow < bodyLen) break;
            this.#sendWindow -= bodyLen;
            this.#out.push(this.#waiting.shift()!);
          }
        }
        return;
      default:
        return; // PRIORITY, PUSH_PROMISE (disabled by default for servers), CONTINUATION …
    }
  }

  #end(id: number, s: Stream): void {
    this.#streams.delete(id);
    let outcome: string;
    if (s.data.length === 0) outcome = "no-message";
    else {
      const r = decodeVerifyResponse(s.data.length === 1 ? s.data[0]! : Buffer.concat(s.data));
      outcome = r === undefined ? "undecodable" : statusName(r.status);
    }
    this.onComplete(outcome, s.t0);
  }
}

function connect(port: number, headerBlock: Buffer): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port, noDelay: true });
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve(new Connection(socket, headerBlock));
    });
    socket.once("error", reject);
  });
}

export async function runHttp2Load(o: Http2LoadOptions): Promise<Http2LoadResult> {
  const block = requestHeaderBlock(o.port, o.path, o.authorization);
  const conns = await Promise.all(Array.from({ length: o.sessions }, () => connect(o.port, block)));
  let issued = 0;
  let stopped = false;
  let measuring = false;
  let completed = 0;
  const outcomes: Record<string, number> = {};
  const lat: number[] = [];
  let failure: Error | undefined;
  let drained: (() => void) | undefined;
  const done = new Promise<void>((resolve) => (drained = resolve));
  const inflight = () => conns.reduce((n, c) => n + c.open, 0);

  const more = () => !stopped && failure === undefined && (o.requests === undefined || issued < o.requests);
  for (const c of conns) {
    c.onComplete = (outcome, t0) => {
      if (measuring) {
        completed++;
        lat.push((performance.now() - t0) * 1000);
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      }
      if (more()) c.send(o.body(issued++));
      else if (inflight() === 0) drained?.();
    };
    c.onError = (err) => {
      failure ??= err;
      drained?.();
    };
  }
  const perConn = Math.max(1, Math.floor(o.inFlight / o.sessions));
  const start = () => {
    for (const c of conns) {
      for (let i = 0; i < perConn && more(); i++) c.send(o.body(issued++));
      c.flush();
    }
  };
  let t0: number;
  let t1: number;
  try {
    if (o.requests !== undefined) {
      measuring = true;
      t0 = performance.now();
      start();
      await done;
      t1 = performance.now();
    } else {
      start();
      await sleep(o.warmupMs ?? 0);
      await o.onWindow?.("start");
      measuring = true;
      t0 = performance.now();
      await sleep(o.durationMs ?? 1000);
      measuring = false;
      t1 = performance.now();
      await o.onWindow?.("end");
      stopped = true;
      if (inflight() > 0 && failure === undefined) await done;
    }
  } finally {
    for (const c of conns) c.close();
  }
  if (failure !== undefined) throw failure;
  const durationMs = t1 - t0;
  return { completed, durationMs, rps: (completed / durationMs) * 1000, outcomes, latencyUs: percentiles(lat) };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

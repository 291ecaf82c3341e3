/**
 * Envelope damage (gRPC, gRPC-web and Connect streams put each message in a 5-byte envelope:
 * flags, big-endian length) and compression damage, for both.
 */
import { deflateSync, gzipSync } from "node:zlib";
import type { Protocol } from "./cases.js";
import type { Rng } from "./prng.js";
import { MARKER } from "./values.js";

const bombs = new Map<number, Buffer>();

/** `mib` MiB of zeros, gzipped (a few KiB); made once per size, it costs a noticeable moment. */
function gzipBomb(mib: number): Buffer {
  let b = bombs.get(mib);
  if (b === undefined) bombs.set(mib, (b = gzipSync(Buffer.alloc(mib * 1024 * 1024))));
  return b;
}

/** A gRPC / gRPC-web / Connect envelope: flags, 4-byte big-endian length, payload. */
export function envelope(flags: number, payload: Buffer, length = payload.length): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(length >>> 0, 1);
  return Buffer.concat([head, payload]);
}

function encodingHeader(protocol: Protocol): string {
  return protocol === "connect" ? "connect-content-encoding" : "grpc-encoding";
}

/** A frame damage with an expected outcome; the others are judged only by the general rules. */
export type FrameDamage = "truncated" | "other";

export function frameMutation(
  rng: Rng,
  protocol: Protocol,
  msg: Buffer,
  headers: Array<[string, string]>,
  notes: string[],
): { body: Buffer; damage: FrameDamage } {
  const enc = encodingHeader(protocol);
  const r = rng.weighted<() => [Buffer, string, FrameDamage?]>([
    [2, () => [envelope(1, msg), "compressed flag, no encoding header"]],
    [
      3,
      () => {
        headers.push([enc, "gzip"]);
        return [envelope(1, msg), `compressed flag, ${enc}: gzip, body not gzip`];
      },
    ],
    [
      1,
      () => {
        headers.push([enc, "deflate"]);
        return [envelope(1, rng.bytes(rng.int(0, 40))), `compressed flag, ${enc}: deflate, random body`];
      },
    ],
    [
      1,
      () => {
        headers.push([enc, "gzip"]);
        return [envelope(1, gzipSync(msg)), `compressed flag, ${enc}: gzip, valid gzip`];
      },
    ],
    [
      1,
      () => {
        headers.push([enc, "gzip"]);
        const z = gzipSync(msg);
        return [envelope(1, z.subarray(0, rng.int(0, z.length - 1))), `compressed flag, ${enc}: gzip, truncated gzip`];
      },
    ],
    [
      1,
      () => {
        headers.push([enc, "gzip"]);
        return [envelope(1, gzipBomb(rng.pick([5, 64]))), `compressed flag, ${enc}: gzip, decompresses past the cap`];
      },
    ],
    [
      1,
      () => {
        headers.push([enc, "deflate"]);
        return [envelope(1, deflateSync(msg)), `compressed flag, ${enc}: deflate, valid`];
      },
    ],
    [
      2,
      () => {
        const e = rng.pick(["br", "snappy", "identity", "zstd", MARKER, "gzip, deflate", "", "GZIP"]);
        headers.push([enc, e]);
        return [envelope(1, msg), `compressed flag, ${enc}: ${JSON.stringify(e)}`];
      },
    ],
    [
      1,
      () => {
        const e = rng.pick(["gzip", MARKER, "br"]);
        headers.push([enc, e]);
        return [envelope(0, msg), `uncompressed, ${enc}: ${JSON.stringify(e)}`];
      },
    ],
    [
      2,
      () => {
        const f = rng.pick([0x02, 0x80, 0x81, 0x03, 0x7f, 0xff, 0x04]);
        return [envelope(f, msg), `flags 0x${f.toString(16)}`];
      },
    ],
    [
      2,
      () => {
        const len = rng.pick([msg.length + 1, msg.length + 100, 0xffffffff, 4 * 1024 * 1024 + 1, 0x7fffffff]);
        return [envelope(0, msg, len), `length ${len} > ${msg.length} actual`, "truncated"];
      },
    ],
    [
      2,
      () => {
        const len = rng.int(0, Math.max(0, msg.length - 1));
        return [envelope(0, msg, len), `length ${len} < ${msg.length} actual (trailing bytes)`];
      },
    ],
    [2, () => [Buffer.concat([envelope(0, msg), envelope(0, msg)]), "two messages"]],
    [1, () => [Buffer.alloc(0), "no message at all"]],
    [1, () => [envelope(0, msg).subarray(0, rng.int(1, 4)), "partial envelope header", "truncated"]],
    [1, () => [Buffer.concat([envelope(0, msg), envelope(0x80, Buffer.from("grpc-status: 0\r\n"))]), "message then trailers frame"]],
    [1, () => [envelope(0x80, Buffer.from(`grpc-status: 0\r\ngrpc-message: ${MARKER}\r\n`)), "only a trailers frame"]],
    [1, () => [Buffer.concat([envelope(0, msg), envelope(0x02, Buffer.from("{}"))]), "message then end-stream frame"]],
    [1, () => [Buffer.concat([envelope(0, msg), rng.bytes(rng.int(1, 4))]), "message then partial envelope"]],
  ])();
  notes.push(`frame: ${r[1]}`);
  return { body: r[0], damage: r[2] ?? "other" };
}

/** Connect unary bodies compress with content-encoding. */
export function contentEncodingMutation(rng: Rng, msg: Buffer, headers: Array<[string, string]>, notes: string[]): Buffer {
  const [encoding, body, note] = rng.weighted<() => [string, Buffer, string]>([
    [3, () => ["gzip", msg, "content-encoding: gzip, body not gzip"]],
    [1, () => ["gzip", gzipSync(msg), "content-encoding: gzip, valid"]],
    [1, () => ["gzip", gzipSync(msg).subarray(0, 10), "content-encoding: gzip, truncated"]],
    [1, () => ["gzip", gzipBomb(8), "content-encoding: gzip, decompresses past the cap"]],
    [1, () => ["br", msg, "content-encoding: br, body not brotli"]],
    [
      1,
      () => {
        const e = rng.pick(["zstd", MARKER, "identity", "gzip, br", "x-gzip"]);
        return [e, msg, `content-encoding: ${JSON.stringify(e)}`];
      },
    ],
  ])();
  headers.push(["content-encoding", encoding]);
  notes.push(note);
  return body;
}

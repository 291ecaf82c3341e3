/**
 * Protobuf wire format by hand, and mutations of encoded bytes.
 *
 * The generators need to write what protobuf-es refuses to: strings that are not UTF-8, negative
 * enums as ten-byte varints, overlong varints, lengths that lie, groups nested past any recursion
 * limit. So messages are encoded here from the descriptors, field by field, and then mangled.
 */
import type { Rng } from "./prng.js";

export const WT_VARINT = 0;
export const WT_I64 = 1;
export const WT_LEN = 2;
const WT_SGROUP = 3;
const WT_EGROUP = 4;
export const WT_I32 = 5;

/** Base-128 varint; negative numbers are sign-extended to 64 bits, as protobuf does for int32. */
export function varint(v: number | bigint): Buffer {
  let n = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  do {
    let b = Number(n & 0x7fn);
    n >>= 7n;
    if (n !== 0n) b |= 0x80;
    out.push(b);
  } while (n !== 0n);
  return Buffer.from(out);
}

/** The same value with `extra` redundant continuation bytes: valid up to 10 bytes, invalid past it. */
function overlongVarint(v: number, extra: number): Buffer {
  const base = [...varint(v)];
  const last = base.pop()!;
  const out = [...base, last | 0x80];
  for (let i = 1; i < extra; i++) out.push(0x80);
  out.push(0x00);
  return Buffer.from(out);
}

export const tag = (field: number, wt: number): Buffer => varint(((field << 3) | wt) >>> 0);

export const lenField = (field: number, payload: Buffer): Buffer => Buffer.concat([tag(field, WT_LEN), varint(payload.length), payload]);
export const varintField = (field: number, v: number | bigint): Buffer => Buffer.concat([tag(field, WT_VARINT), varint(v)]);

/** `depth` groups of field `field` opened and (if `close`) closed again: skipping them recurses. */
export function nestedGroups(field: number, depth: number, close: boolean): Buffer {
  const open = tag(field, WT_SGROUP);
  const end = tag(field, WT_EGROUP);
  const parts: Buffer[] = [];
  for (let i = 0; i < depth; i++) parts.push(open);
  if (close) for (let i = 0; i < depth; i++) parts.push(end);
  return Buffer.concat(parts);
}

/** `depth` length-delimited fields each wrapping the next (unknown fields: skipped, not parsed). */
function nestedLen(field: number, depth: number): Buffer {
  let b: Buffer = Buffer.alloc(0);
  for (let i = 0; i < depth; i++) b = lenField(field, b);
  return b;
}

// ---- byte-level mutations of an encoded message ----

type ByteMutation = (rng: Rng, b: Buffer) => { bytes: Buffer; note: string };

const m = (bytes: Buffer, note: string) => ({ bytes, note });

/** Structure-blind and structure-aware mutations, each with a note saying what it did. */
const BYTE_MUTATIONS: ReadonlyArray<readonly [number, ByteMutation]> = [
  [
    4,
    (rng, b) => {
      if (b.length === 0) return m(Buffer.from([0x0a]), "truncate: lone tag");
      const at = rng.int(0, b.length - 1);
      return m(b.subarray(0, at), `truncate at ${at}/${b.length}`);
    },
  ],
  [
    4,
    (rng, b) => {
      if (b.length === 0) return m(Buffer.from([0x80]), "bit flip: lone continuation byte");
      const c = Buffer.from(b);
      const flips = rng.int(1, 3);
      for (let i = 0; i < flips; i++) {
        const at = rng.int(0, c.length - 1);
        c[at] = c[at]! ^ (1 << rng.int(0, 7));
      }
      return m(c, `${flips} bit flip(s)`);
    },
  ],
  [
    2,
    (rng, b) => {
      const at = rng.int(0, b.length);
      const ins = rng.bytes(rng.int(1, 8));
      return m(Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]), `insert ${ins.length} random bytes at ${at}`);
    },
  ],
  [
    2,
    (rng, b) => {
      if (b.length < 2) return m(Buffer.concat([b, b]), "duplicate all");
      const from = rng.int(0, b.length - 1);
      const to = rng.int(from, b.length);
      return m(Buffer.concat([b.subarray(0, to), b.subarray(from, to), b.subarray(to)]), `duplicate bytes ${from}..${to}`);
    },
  ],
  [
    2,
    (rng, b) => {
      if (b.length < 2) return m(Buffer.alloc(0), "delete all");
      const from = rng.int(0, b.length - 1);
      const to = rng.int(from, Math.min(b.length, from + 8));
      return m(Buffer.concat([b.subarray(0, from), b.subarray(to)]), `delete bytes ${from}..${to}`);
    },
  ],
  [
    3,
    (rng, b) => {
      // Wire types 6 and 7 do not exist; field 0 is invalid.
      const bad = rng.pick([
        tag(rng.int(1, 20), 6),
        tag(rng.int(1, 20), 7),
        Buffer.from([0x00]),
        Buffer.from([0x02]),
        tag(rng.int(1, 8), WT_EGROUP),
      ]);
      return m(Buffer.concat([b, bad, rng.bytes(rng.int(0, 3))]), `append bad tag ${bad.toString("hex")}`);
    },
  ],
  [
    2,
    (rng, b) => {
      // A known field with the wrong wire type (e.g. field 1, a string, as a varint or fixed64).
      const field = rng.int(1, 7);
      const wt = rng.pick([WT_VARINT, WT_I64, WT_I32, WT_SGROUP]);
      const body =
        wt === WT_VARINT ? varint(rng.u32()) : wt === WT_I64 ? rng.bytes(8) : wt === WT_I32 ? rng.bytes(4) : tag(field, WT_EGROUP);
      return m(Buffer.concat([b, tag(field, wt), body]), `field ${field} with wire type ${wt}`);
    },
  ],
  [
    3,
    (rng, b) => {
      const depth = rng.pick([101, 200, 1000, 20000]);
      const close = rng.chance(0.7);
      return m(Buffer.concat([b, nestedGroups(rng.int(90, 120), depth, close)]), `${depth} nested groups${close ? "" : " never closed"}`);
    },
  ],
  [
    1,
    (rng, b) => {
      const depth = rng.pick([100, 1000]);
      return m(Buffer.concat([b, nestedLen(rng.int(90, 120), depth)]), `${depth} nested length-delimited unknown fields`);
    },
  ],
  [
    3,
    (rng, b) => {
      // A length far past the end of the message (up to 2^32 and beyond).
      const len = rng.pick([0x7fffffffn, 0xffffffffn, 2n ** 40n, 2n ** 63n - 1n, BigInt(b.length + 1), 1n << 20n]);
      return m(Buffer.concat([b, tag(rng.int(1, 6), WT_LEN), varint(len), rng.bytes(rng.int(0, 4))]), `length ${len} past the end`);
    },
  ],
  [
    2,
    (rng, b) => {
      const extra = rng.pick([2, 5, 10, 12]);
      return m(
        Buffer.concat([b, tag(rng.int(1, 6), WT_VARINT), overlongVarint(rng.int(0, 3), extra)]),
        `overlong varint (${extra} extra bytes)`,
      );
    },
  ],
  [1, (rng, b) => m(Buffer.concat([b, tag(rng.int(1, 6), WT_VARINT), Buffer.alloc(rng.int(1, 12), 0xff)]), "varint that never ends")],
  [1, (rng, b) => m(Buffer.concat([b, tag(rng.int(1, 6), WT_I64), rng.bytes(rng.int(0, 7))]), "fixed64 cut short")],
  [2, (rng) => m(rng.bytes(rng.size(512)), "random bytes")],
];

export function mutateBytes(rng: Rng, bytes: Buffer, rounds: number): { bytes: Buffer; notes: string[] } {
  let b = bytes;
  const notes: string[] = [];
  for (let i = 0; i < rounds; i++) {
    const r = rng.weighted(BYTE_MUTATIONS)(rng, b);
    b = r.bytes;
    notes.push(r.note);
  }
  return { bytes: b, notes };
}

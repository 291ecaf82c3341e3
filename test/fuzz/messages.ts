/**
 * Request messages generated from the protobuf-es descriptors in src/gen, so every field of every
 * method is covered and a new field is fuzzed without touching this file. One draw gives both the
 * binary encoding (written by hand in wire.ts: strings may be invalid UTF-8, enums out of range)
 * and a JSON form for Connect, from the same values.
 */
import { ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { Rng } from "./prng.js";
import { stringFor, type FuzzContext } from "./values.js";
import { WT_I32, WT_I64, WT_LEN, WT_VARINT, lenField, tag, varint } from "./wire.js";

type Value =
  | { t: "str"; b: Buffer }
  | { t: "int"; v: bigint; jsonEnum?: string; jsonBool?: boolean }
  | { t: "f64"; v: number }
  | { t: "msg"; desc: DescMessage; fields: FieldValue[] }
  | { t: "entry"; key: Value; value: Value };

interface FieldValue {
  field: DescField;
  values: Value[];
  packed: boolean;
}

export interface Generated {
  binary: Buffer;
  /** JSON text for Connect's JSON codec. */
  json: string;
  notes: string[];
}

export interface GenOptions {
  /** Chance that a string value is made evil (NUL, invalid UTF-8, marker, huge, …). */
  evilRate: number;
  /** Chance that a number or enum takes an out-of-range value. */
  wildRate: number;
  /** A top-level string field that is always set and always evil, the others mostly good: one bad value gets further than many. */
  evilField?: string;
}

/** A random request of `desc`: most fields set, good values mostly, evil ones at `evilRate`. */
export function generateMessage(rng: Rng, ctx: FuzzContext, desc: DescMessage, opts: GenOptions): Generated {
  const notes: string[] = [];
  const fields = genFields(rng, ctx, desc, opts, notes, 0);
  // The JSON rendering draws from a generator of its own, so how it renders never shifts the
  // draws of everything after it (the binary cases stay the same when it changes).
  const jsonRng = new Rng(rng.u32());
  return {
    binary: encodeFields(fields),
    json: JSON.stringify(fieldsToJson(fields, jsonRng, opts.wildRate)),
    notes,
  };
}

function genFields(rng: Rng, ctx: FuzzContext, desc: DescMessage, opts: GenOptions, notes: string[], depth: number): FieldValue[] {
  const out: FieldValue[] = [];
  for (const field of desc.fields) {
    const forced = depth === 0 && field.name === opts.evilField;
    if (!forced && !rng.chance(0.75)) continue;
    const n =
      field.fieldKind === "list" || field.fieldKind === "map"
        ? rng.weighted([
            [4, 1],
            [2, 2],
            [1, 3],
            [1, 0],
            [1, rng.pick([30, 101])],
          ])
        : 1;
    const values: Value[] = [];
    const o = forced ? { ...opts, evilRate: 1 } : opts;
    for (let i = 0; i < Math.max(n, forced ? 1 : 0); i++) values.push(genValue(rng, ctx, field, o, notes, depth));
    out.push({ field, values, packed: field.fieldKind === "list" && field.listKind !== "message" && rng.chance(0.5) });
  }
  return out;
}

function genValue(rng: Rng, ctx: FuzzContext, field: DescField, opts: GenOptions, notes: string[], depth: number): Value {
  switch (field.fieldKind) {
    case "scalar":
      return scalarValue(rng, ctx, field.name, field.scalar, opts, notes);
    case "enum":
      return enumValue(
        rng,
        field.enum.values.map((v) => [v.number, v.name] as const),
        opts,
        notes,
        field.name,
      );
    case "message":
      return messageValue(rng, ctx, field.message, opts, notes, depth);
    case "list":
      if (field.listKind === "scalar") return scalarValue(rng, ctx, field.name, field.scalar, opts, notes);
      if (field.listKind === "enum")
        return enumValue(
          rng,
          field.enum.values.map((v) => [v.number, v.name] as const),
          opts,
          notes,
          field.name,
        );
      return messageValue(rng, ctx, field.message, opts, notes, depth);
    case "map": {
      const key = scalarValue(rng, ctx, "key", field.mapKey, opts, notes);
      const value =
        field.mapKind === "scalar"
          ? scalarValue(rng, ctx, "value", field.scalar, opts, notes)
          : field.mapKind === "enum"
            ? enumValue(
                rng,
                field.enum.values.map((v) => [v.number, v.name] as const),
                opts,
                notes,
                field.name,
              )
            : messageValue(rng, ctx, field.message, opts, notes, depth);
      return { t: "entry", key, value };
    }
  }
}

function messageValue(rng: Rng, ctx: FuzzContext, desc: DescMessage, opts: GenOptions, notes: string[], depth: number): Value {
  if (desc.typeName === "google.protobuf.Timestamp" || desc.typeName === "google.protobuf.Duration") {
    // Seconds around now, far past the representable range (year 10000), negative; nanos past 1e9.
    const now = BigInt(Math.floor(Date.now() / 1000));
    const seconds = rng.chance(opts.wildRate)
      ? rng.pick([10_000_000_000_000n, -62135596801n, 253402300800n, -1n, 2n ** 63n - 1n, -(2n ** 63n)])
      : now + BigInt(rng.pick([3600, 86400, -3600, 60]));
    const nanos = rng.chance(opts.wildRate) ? BigInt(rng.pick([1_000_000_000, -1, 2 ** 31 - 1])) : BigInt(rng.int(0, 999_999_999));
    const fields = desc.fields;
    return {
      t: "msg",
      desc,
      fields: [
        { field: fields[0]!, values: [{ t: "int", v: seconds }], packed: false },
        { field: fields[1]!, values: [{ t: "int", v: nanos }], packed: false },
      ],
    };
  }
  return { t: "msg", desc, fields: depth > 4 ? [] : genFields(rng, ctx, desc, opts, notes, depth + 1) };
}

function scalarValue(rng: Rng, ctx: FuzzContext, name: string, scalar: ScalarType, opts: GenOptions, notes: string[]): Value {
  switch (scalar) {
    case ScalarType.STRING: {
      const s = stringFor(rng, ctx, name, opts.evilRate);
      if (s.note) notes.push(s.note);
      return { t: "str", b: s.b };
    }
    case ScalarType.BYTES:
      return { t: "str", b: rng.bytes(rng.size(64)) };
    case ScalarType.BOOL: {
      // On the wire a bool is a varint, and any non-zero one reads as true; in JSON only true and false are.
      const v = rng.chance(opts.wildRate) ? BigInt(rng.pick([2, 255, 2 ** 32])) : BigInt(rng.int(0, 1));
      return { t: "int", v, jsonBool: v !== 0n };
    }
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return { t: "f64", v: rng.pick([0, 1.5, -1, Number.MAX_VALUE, Number.NaN, Infinity]) };
    default: {
      // Integers: page sizes and the like. Wild ones: negative, int32 bounds, past 32 bits.
      if (rng.chance(opts.wildRate)) {
        const v = rng.pick([-1n, -(2n ** 31n), 2n ** 31n - 1n, 2n ** 32n, 2n ** 63n - 1n, 1001n, 100000n]);
        notes.push(`${name}=${v}`);
        return { t: "int", v };
      }
      return { t: "int", v: BigInt(rng.pick([0, 1, 2, 10, 100, 1000])) };
    }
  }
}

function enumValue(rng: Rng, values: ReadonlyArray<readonly [number, string]>, opts: GenOptions, notes: string[], name: string): Value {
  if (rng.chance(opts.wildRate)) {
    const v = rng.pick([99, -1, 2 ** 31 - 1, -(2 ** 31), 1000]);
    notes.push(`${name}=${v}`);
    return { t: "int", v: BigInt(v) };
  }
  const [n, jsonEnum] = rng.pick(values);
  return { t: "int", v: BigInt(n), jsonEnum };
}

// ---- binary ----

function wireTypeOf(v: Value, field: DescField): number {
  if (v.t === "str" || v.t === "msg" || v.t === "entry") return WT_LEN;
  if (v.t === "f64") return scalarOf(field) === ScalarType.FLOAT ? WT_I32 : WT_I64;
  const s = scalarOf(field);
  if (s === ScalarType.FIXED64 || s === ScalarType.SFIXED64) return WT_I64;
  if (s === ScalarType.FIXED32 || s === ScalarType.SFIXED32) return WT_I32;
  return WT_VARINT;
}

function scalarOf(field: DescField): ScalarType | undefined {
  if (field.fieldKind === "scalar") return field.scalar;
  if (field.fieldKind === "list" && field.listKind === "scalar") return field.scalar;
  return undefined;
}

function payloadOf(v: Value, field: DescField): Buffer {
  switch (v.t) {
    case "str":
      return v.b;
    case "msg":
      return encodeFields(v.fields);
    case "entry": {
      const parts = [encodeOne(1, v.key, field), encodeOne(2, v.value, field)];
      return Buffer.concat(parts);
    }
    case "f64": {
      const b = Buffer.alloc(scalarOf(field) === ScalarType.FLOAT ? 4 : 8);
      if (b.length === 4) b.writeFloatLE(v.v);
      else b.writeDoubleLE(v.v);
      return b;
    }
    case "int": {
      const s = scalarOf(field);
      if (s === ScalarType.SINT32 || s === ScalarType.SINT64) return varint((v.v << 1n) ^ (v.v < 0n ? -1n : 0n));
      if (s === ScalarType.FIXED64 || s === ScalarType.SFIXED64) {
        const b = Buffer.alloc(8);
        b.writeBigUInt64LE(BigInt.asUintN(64, v.v));
        return b;
      }
      if (s === ScalarType.FIXED32 || s === ScalarType.SFIXED32) {
        const b = Buffer.alloc(4);
        b.writeUInt32LE(Number(BigInt.asUintN(32, v.v)));
        return b;
      }
      return varint(v.v);
    }
  }
}

function encodeOne(number: number, v: Value, field: DescField): Buffer {
  const wt = v.t === "entry" ? WT_LEN : wireTypeOf(v, field);
  const payload = payloadOf(v, field);
  return wt === WT_LEN ? lenField(number, payload) : Buffer.concat([tag(number, wt), payload]);
}

function encodeFields(fields: FieldValue[]): Buffer {
  const parts: Buffer[] = [];
  for (const fv of fields) {
    if (fv.packed && fv.values.length > 0) {
      parts.push(lenField(fv.field.number, Buffer.concat(fv.values.map((v) => payloadOf(v, fv.field)))));
      continue;
    }
    for (const v of fv.values) parts.push(encodeOne(fv.field.number, v, fv.field));
  }
  return Buffer.concat(parts);
}

// ---- JSON ----

/** JSON for `fields`; at `wildRate` a timestamp is rendered as something that is not one. */
function fieldsToJson(fields: FieldValue[], rng: Rng, wildRate: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const fv of fields) {
    const js = fv.values.map((v) => valueToJson(v, rng, wildRate));
    if (fv.field.fieldKind === "map") {
      const m: Record<string, unknown> = {};
      for (const v of fv.values) if (v.t === "entry") m[String(valueToJson(v.key, rng, wildRate))] = valueToJson(v.value, rng, wildRate);
      o[fv.field.jsonName] = m;
    } else if (fv.field.fieldKind === "list") {
      o[fv.field.jsonName] = js;
    } else {
      // Proto field names are valid JSON keys too.
      o[rng.chance(0.1) ? fv.field.name : fv.field.jsonName] = js[0];
    }
  }
  return o;
}

function valueToJson(v: Value, rng: Rng, wildRate: number): unknown {
  switch (v.t) {
    case "str":
      return v.b.toString("utf8");
    case "f64":
      return Number.isFinite(v.v) ? v.v : String(v.v);
    case "int":
      if (v.jsonBool !== undefined) return v.jsonBool;
      if (v.jsonEnum !== undefined && rng.chance(0.7)) return v.jsonEnum;
      return v.v >= -(2n ** 31n) && v.v < 2n ** 31n && rng.chance(0.8) ? Number(v.v) : v.v.toString();
    case "entry":
      return valueToJson(v.value, rng, wildRate);
    case "msg":
      if (v.desc.typeName === "google.protobuf.Timestamp") {
        const secs = (v.fields[0]!.values[0] as { v: bigint }).v;
        const ms = Number(secs) * 1000;
        const d = new Date(ms);
        return Number.isFinite(d.getTime()) && !rng.chance(wildRate)
          ? d.toISOString()
          : rng.pick([
              "10000-01-01T00:00:00Z",
              "garbage",
              "2024-13-45T25:61:61Z",
              "0000-00-00T00:00:00Z",
              12345,
              "1970-01-01T00:00:00.1234567891Z",
            ]);
      }
      return fieldsToJson(v.fields, rng, wildRate);
  }
}

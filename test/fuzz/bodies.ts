/**
 * Request bodies by family: messages generated from the descriptors (good, one evil field, many),
 * damaged bytes, damaged JSON, and the two inputs the issue names, page tokens and Verify
 * credentials, built to get past validation and reach the query.
 */
import { ScalarType, fromBinary, fromJsonString, type DescMethod } from "@bufbuild/protobuf";
import { generateMessage } from "./messages.js";
import type { Rng } from "./prng.js";
import { MARKER, credential, evil, pageToken, type FuzzContext } from "./values.js";
import { lenField, mutateBytes, nestedGroups, varintField } from "./wire.js";

/**
 * valid: good values only. one-evil: one string field evil (NUL, invalid UTF-8, …), the rest
 * good, so it gets past the other checks to SQL. chaos: many evil values and wild numbers.
 * mutated/structural/random: damaged bytes. json-mutated: damaged JSON. page-token and
 * credential: the listing and Verify inputs the issue names, built to reach the query.
 */
export type BodyFamily =
  | "valid"
  | "one-evil"
  | "chaos"
  | "mutated"
  | "structural"
  | "random"
  | "json-mutated"
  | "page-token"
  | "credential";

export function messageBody(rng: Rng, ctx: FuzzContext, method: DescMethod, family: BodyFamily, json: boolean, notes: string[]): Buffer {
  const input = method.input;
  const gen = (evilRate: number, wildRate: number) => {
    const g = generateMessage(rng, ctx, input, { evilRate, wildRate });
    notes.push(...g.notes);
    return g;
  };
  const encode = (g: { binary: Buffer; json: string }) => (json ? Buffer.from(g.json, "utf8") : g.binary);
  switch (family) {
    case "valid":
      return encode(gen(0, 0));
    case "one-evil": {
      const strings = input.fields.filter((f) => f.fieldKind === "scalar" && f.scalar === ScalarType.STRING).map((f) => f.name);
      if (strings.length === 0) return encode(gen(0.3, 0.3));
      const g = generateMessage(rng, ctx, input, { evilRate: 0.02, wildRate: 0.05, evilField: rng.pick(strings) });
      notes.push(...g.notes);
      return encode(g);
    }
    case "chaos":
      return encode(gen(0.4, 0.3));
    case "mutated": {
      const base = encode(gen(0.1, 0.1));
      const r = mutateBytes(rng, base, rng.int(1, 3));
      notes.push(...r.notes);
      return r.bytes;
    }
    case "structural": {
      const base = gen(0.05, 0.05).binary;
      // One mutation of an almost clean message, and half the time deep groups after it: the
      // damage that decoders handle by recursion or by trusting lengths.
      const r = mutateBytes(rng, base, 1);
      notes.push(...r.notes);
      return Buffer.concat([r.bytes, rng.chance(0.5) ? nestedGroups(rng.int(50, 60), rng.pick([101, 5000]), true) : Buffer.alloc(0)]);
    }
    case "random":
      notes.push("random bytes");
      return rng.bytes(rng.size(300));
    case "json-mutated":
      return jsonMutation(rng, gen(0.15, 0.15).json, notes);
    case "page-token": {
      const g = gen(0, 0);
      const pt = pageToken(rng, method.name === "ListOrganizations" ? "o" : "t");
      notes.push(pt.note);
      const field = input.fields.find((f) => f.name === "page_token")!;
      if (json) {
        const o = JSON.parse(g.json) as Record<string, unknown>;
        o["pageToken"] = pt.value;
        return Buffer.from(JSON.stringify(o), "utf8");
      }
      // A later occurrence of a scalar field wins: append the page token after whatever was drawn.
      return Buffer.concat([g.binary, lenField(field.number, Buffer.from(pt.value, "utf8"))]);
    }
    case "credential":
      return verifyRequest(rng, ctx, json, notes);
  }
}

/**
 * A Verify request built to reach the token lookup: a credential that passes the format checks
 * (mostly), a valid endpoint, and an organization and bucket that are good or evil.
 */
function verifyRequest(rng: Rng, ctx: FuzzContext, json: boolean, notes: string[]): Buffer {
  const cred = credential(rng, ctx, true);
  const ident = rng.pick(ctx.identifiers);
  const org = rng.weighted<() => [string, string]>([
    [3, () => [ident, "good"]],
    [
      4,
      () => {
        const e = evil(rng, Buffer.from(ident));
        return [e.b.toString("latin1"), e.note];
      },
    ],
    [1, () => ["", "empty"]],
  ])();
  const bucket = rng.chance(0.7)
    ? ""
    : rng.chance(0.5)
      ? rng.pick(ctx.bucketNames)
      : evil(rng, Buffer.from(rng.pick(ctx.bucketNames))).b.toString("latin1");
  const endpoint = rng.chance(0.9) ? rng.int(1, 4) : rng.pick([0, 5, -1, 99]);
  const signal = rng.int(0, 3);
  notes.push(`credential: ${cred.note}`, `organization: ${org[1]}`, `endpoint ${endpoint}`);
  // Strings travel as latin1 bytes (one byte per char: invalid UTF-8 stays invalid) or as UTF-8.
  const asBytes = (v: string) => (rng.chance(0.6) ? Buffer.from(v, "latin1") : Buffer.from(v, "utf8"));
  if (json) {
    const o: Record<string, unknown> = {
      credential: cred.value,
      organization: Buffer.from(org[0], "latin1").toString("utf8"),
      endpoint,
      signal,
    };
    if (bucket !== "") o["bucket"] = bucket;
    return Buffer.from(JSON.stringify(o), "utf8");
  }
  return Buffer.concat([
    lenField(1, asBytes(cred.value)),
    ...(org[0] === "" ? [] : [lenField(2, asBytes(org[0]))]),
    varintField(3, endpoint),
    ...(bucket === "" ? [] : [lenField(4, asBytes(bucket))]),
    varintField(5, signal),
  ]);
}

/** JSON that is wrong in type, shape, size or syntax. */
function jsonMutation(rng: Rng, text: string, notes: string[]): Buffer {
  const o = (() => {
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch {
      return {};
    }
  })();
  const keys = Object.keys(o);
  const key = keys.length > 0 ? rng.pick(keys) : "id";
  const m = rng.weighted<() => [string | Buffer, string]>([
    [
      3,
      () => {
        const v = rng.pick<unknown>([
          1,
          -1,
          Number.POSITIVE_INFINITY,
          2 ** 70,
          true,
          null,
          [],
          {},
          [1, 2],
          "x",
          "",
          { a: 1 },
          "1e3",
          "0x10",
          1.5,
        ]);
        return [JSON.stringify({ ...o, [key]: v }), `${key} := ${JSON.stringify(v)}`];
      },
    ],
    [2, () => [JSON.stringify({ ...o, [`unknown_${MARKER}`]: 1 }), "unknown field"]],
    [1, () => [text.replace(/^\{/, `{"${key}":1,`), "duplicate key"]],
    [1, () => [`{"${key}":1e99999}`, "huge number"]],
    [1, () => [`{"pageSize":99999999999999999999999}`, "huge integer"]],
    [1, () => [`{"pageSize":"abc"}`, "pageSize as text"]],
    [
      1,
      () => [
        `{"expireTime":"${rng.pick(["garbage", "10000-01-01T00:00:00Z", "2024-02-30T00:00:00Z", "1-1-1"])}","name":"x","kind":"TOKEN_KIND_INGESTION"}`,
        "bad timestamp",
      ],
    ],
    [1, () => [`{"kind":"${rng.pick(["TOKEN_KIND_NOPE", MARKER, "", "1"])}"}`, "bad enum name"]],
    [
      2,
      () => {
        const depth = rng.pick([100, 1000, 100_000]);
        return [`{"unknown":${"[".repeat(depth)}${"]".repeat(depth)}}`, `${depth} nested arrays`];
      },
    ],
    [
      1,
      () => {
        const depth = rng.pick([100, 10_000]);
        return [`{"permissions":${'{"a":'.repeat(depth)}1${"}".repeat(depth)}}`, `${depth} nested objects`];
      },
    ],
    [2, () => [text.slice(0, rng.int(0, Math.max(0, text.length - 1))), "truncated"]],
    [1, () => [text + rng.pick(["}", "x", ",", "\u0000", " // c", "{}"]), "trailing garbage"]],
    [1, () => [Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]), "UTF-8 BOM"]],
    [
      2,
      () => {
        const b = Buffer.from(text.length > 2 ? text : `{"id":"ab"}`, "utf8");
        const at = rng.int(1, b.length - 1);
        return [
          Buffer.concat([b.subarray(0, at), Buffer.from([rng.pick([0xff, 0xc3, 0x80, 0xed])]), b.subarray(at)]),
          `invalid UTF-8 at ${at}`,
        ];
      },
    ],
    [1, () => [rng.pick(["", "null", "[]", '"x"', "1", "true", "{", "}", "NaN", "{'a':1}", '{"a":undefined}']), "not an object"]],
    [1, () => [`{"${key}":"${"\\u0000".repeat(3)}${MARKER}"}`, "escaped NULs"]],
    [1, () => [`{"${key}":"\\ud800"}`, "lone surrogate"]],
  ])();
  notes.push(`json: ${m[1]}`);
  return typeof m[0] === "string" ? Buffer.from(m[0], "utf8") : m[0];
}

/** Whether the server's codec must refuse this payload (protobuf-es decides, with the servers' options). */
export function isMalformed(method: DescMethod, payload: Buffer, json: boolean): boolean {
  try {
    if (json) {
      // connect-node decodes JSON text leniently (U+FFFD for bad bytes) and ignores unknown fields.
      fromJsonString(method.input, new TextDecoder().decode(payload), { ignoreUnknownFields: true });
    } else {
      fromBinary(method.input, payload);
    }
    return false;
  } catch {
    return true;
  }
}

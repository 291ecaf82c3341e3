/**
 * Field values: good ones drawn from the fuzz context (real ids, identifiers, tokens, cursors,
 * so requests get past validation and reach the service's SQL), and evil ones made from them
 * (NUL, invalid UTF-8, the marker, huge, SQL metacharacters, control and bidi characters).
 *
 * Strings are Buffers of raw bytes: a string field on the wire may hold anything, UTF-8 or not.
 */
import { TOKEN_PREFIXES, checksumOf } from "../../src/domain/token-format.js";
import type { Rng } from "./prng.js";

/**
 * Put into inputs so that an error message echoing them can be recognised. It contains "~" and
 * upper case, so no identifier, bucket or token validator accepts it: an echo of it is an echo
 * of unvalidated input.
 */
export const MARKER = "Zq~fuzzECHO~7";

/** What the fuzzer knows about the server it attacks: seeded through the public API before the run. */
export interface FuzzContext {
  /** An OPERATOR token: gets inputs past authentication to every admin method. */
  operatorToken: string;
  /** A VERIFIER token for the verify API. */
  verifierToken: string;
  /** An ALL_ACCESS token of the fuzz organization's ADMIN. */
  adminToken: string;
  /** Ingestion token values of the fuzz organizations (Verify credentials that exist). */
  knownTokens: string[];
  /** Organization identifiers that exist. */
  identifiers: string[];
  /** Ids the fuzzer may name and change: its own organizations, users, tokens (never the callers'). */
  orgIds: string[];
  userIds: string[];
  tokenIds: string[];
  bucketNames: string[];
  /** A real revocation cursor (its feed id makes well-formed cursors). */
  cursor: string;
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const PREFIXES = Object.values(TOKEN_PREFIXES);

/** A well-formed token (valid prefix, alphabet and checksum) that exists nowhere: it reaches the database lookup. */
function wellFormedToken(rng: Rng, prefix = rng.pick(PREFIXES)): string {
  const body = prefix + rng.string(32, BASE62);
  return body + checksumOf(body);
}

function uuid(rng: Rng): string {
  const h = rng.bytes(16).toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const utf8 = (s: string): Buffer => Buffer.from(s, "utf8");

/** Byte sequences that are not UTF-8: stray continuation, truncated sequences, overlong, surrogates, past U+10FFFF. */
const INVALID_UTF8: readonly Buffer[] = [
  Buffer.from([0xff]),
  Buffer.from([0x80]),
  Buffer.from([0xc3]),
  Buffer.from([0xc0, 0x80]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0xf4, 0x90, 0x80, 0x80]),
  Buffer.from([0xe2, 0x82]),
  Buffer.from([0xfe, 0xfe, 0xff, 0xff]),
];

const ODD_TEXT = [
  "'",
  "' OR '1'='1",
  "'; DROP TABLE tokens; --",
  "%",
  "_%_",
  "\\",
  "\\x00",
  "$1",
  "::uuid",
  '"',
  "`",
  "/*",
  "--",
  "é",
  "😀",
  "\u202e",
  "\u2028",
  "\u200b",
  "\ufeff",
  "Ａｃｍｅ",
  "\t",
  "\r\n",
  " ",
  "\u0085",
  "\u00a0",
  "%00",
  "%s%n",
  "\ud800",
  "null",
  "undefined",
  "NaN",
  "{}",
  "<script>",
];

/** Makes a good value evil. */
export function evil(rng: Rng, good: Buffer): { b: Buffer; note: string } {
  const at = rng.int(0, good.length);
  const insert = (x: Buffer) => Buffer.concat([good.subarray(0, at), x, good.subarray(at)]);
  return rng.weighted<() => { b: Buffer; note: string }>([
    // NUL is valid UTF-8 that every protobuf and JSON decoder passes on, and PostgreSQL refuses in text.
    [8, () => ({ b: Buffer.concat([good, Buffer.from([0])]), note: "NUL appended" })],
    [4, () => ({ b: insert(Buffer.from([0])), note: `NUL at ${at}` })],
    [
      5,
      () => {
        const bad = rng.pick(INVALID_UTF8);
        return { b: insert(bad), note: `invalid UTF-8 ${bad.toString("hex")} at ${at}` };
      },
    ],
    [4, () => ({ b: insert(utf8(MARKER)), note: "marker inserted" })],
    [
      3,
      () => {
        const n = rng.pick([64, 257, 1025, 5000, 70_000]);
        const unit = good.length > 0 ? good : utf8("x");
        return { b: Buffer.concat(Array(Math.ceil(n / unit.length)).fill(unit)).subarray(0, n), note: `repeated to ${n} bytes` };
      },
    ],
    [
      4,
      () => {
        const t = rng.pick(ODD_TEXT);
        return { b: insert(utf8(t)), note: `${JSON.stringify(t)} at ${at}` };
      },
    ],
    [1, () => ({ b: utf8(good.toString("latin1").toUpperCase()), note: "upper case" })],
    [1, () => ({ b: Buffer.alloc(0), note: "empty" })],
    [1, () => ({ b: insert(Buffer.from([rng.int(1, 31)])), note: "control character" })],
  ])();
}

/** A value for a string field, by field name; sometimes made evil. */
export function stringFor(rng: Rng, ctx: FuzzContext, field: string, evilRate: number): { b: Buffer; note?: string } {
  const good = utf8(goodString(rng, ctx, field));
  if (!rng.chance(evilRate)) return { b: good };
  const e = evil(rng, good);
  return { b: e.b, note: `${field}: ${e.note}` };
}

function goodString(rng: Rng, ctx: FuzzContext, field: string): string {
  switch (field) {
    case "credential":
      return credential(rng, ctx).value;
    case "page_token":
      // Good page tokens: none, or the shape the server issues. Bad ones are the page-token family's.
      return rng.chance(0.5)
        ? ""
        : b64url(
            JSON.stringify(
              rng.chance(0.5) ? { k: "o", p: rng.pick(ctx.identifiers) } : { k: "t", p: `${rng.int(0, 1)}:${rng.int(1, 100)}` },
            ),
          );
    case "after_cursor":
      return cursorValue(rng, ctx);
    case "token_value":
      return rng.chance(0.8) ? wellFormedToken(rng, TOKEN_PREFIXES.OPERATOR) : wellFormedToken(rng);
    case "identifier":
    case "organization":
    case "organization_identifier":
      return rng.chance(0.6) ? rng.pick(ctx.identifiers) : `fz-${rng.string(rng.int(1, 12), "abcdefghijklmnopqrstuvwxyz0123456789")}`;
    case "bucket":
    case "buckets":
    case "bucket_name":
      return rng.chance(0.6) ? rng.pick(ctx.bucketNames) : `b-${rng.string(rng.int(1, 10), "abcdefghijklmnopqrstuvwxyz0123456789")}`;
    case "name":
    case "user_name":
    case "organization_name":
      return `fz_${rng.string(rng.int(1, 16), "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")}`;
    case "description":
    case "dashboards":
      return rng.string(rng.int(0, 40), "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJ0123456789.,:=");
    case "key":
    case "value":
      return `${rng.string(rng.int(1, 10), "abcdefghij")}=${rng.string(rng.int(1, 10), "klmnop0123")}`;
    default:
      if (field === "id" || field.endsWith("_id")) return idValue(rng, ctx, field);
      return rng.string(rng.int(0, 20), "abcdefghijklmnopqrstuvwxyz0123456789");
  }
}

function idValue(rng: Rng, ctx: FuzzContext, field: string): string {
  const pool = field.includes("user") ? ctx.userIds : field === "id" ? [...ctx.tokenIds, ...ctx.orgIds, ...ctx.userIds] : ctx.orgIds;
  return rng.weighted<() => string>([
    [6, () => rng.pick(pool)],
    [3, () => uuid(rng)],
    [1, () => rng.pick(pool).toUpperCase()],
    [1, () => "00000000-0000-0000-0000-000000000000"],
    [1, () => `{${rng.pick(pool)}}`],
    [1, () => rng.pick(pool).replaceAll("-", "")],
    [1, () => ""],
  ])();
}

/** Cursors: real, of another feed, out of range, malformed. */
function cursorValue(rng: Rng, ctx: FuzzContext): string {
  const feed = ctx.cursor.split(".")[0] ?? "00000000";
  return rng.pick([
    "",
    ctx.cursor,
    `${feed}.0.0`,
    `${feed}.1.1`,
    `${feed}.18446744073709551615.9223372036854775807`,
    `${feed}.99999999999999999999.1`,
    `${feed}.1.9999999999999999999`,
    `${feed}.${rng.u32()}.${rng.u32()}`,
    `deadbeef.1.1`,
    `${feed}..`,
    `${feed}.-1.1`,
    ctx.cursor + ".1",
    ctx.cursor.toUpperCase(),
  ]);
}

// ---- credentials ----

const b64 = (b: Buffer | string): string => Buffer.from(b).toString("base64");

/**
 * A credential as Verify's `credential` field or an `authorization` header carries it. Returns
 * latin1 text (each char one byte), so header values may hold bytes past ASCII.
 */
export function credential(rng: Rng, ctx: FuzzContext, reachLookup = false): { value: string; note: string } {
  const token = rng.weighted<() => [string, string]>([
    // Well-formed: passes the checksum, so Verify digests it and asks the database.
    [reachLookup ? 40 : 8, () => [wellFormedToken(rng), "well-formed unknown token"]],
    [2, () => [rng.pick([...ctx.knownTokens, ctx.verifierToken, ctx.operatorToken, ctx.adminToken]), "known token"]],
    [
      2,
      () => {
        const t = wellFormedToken(rng);
        const at = rng.int(5, 42);
        return [t.slice(0, at) + (t[at] === "A" ? "B" : "A") + t.slice(at + 1), "checksum mismatch"];
      },
    ],
    [1, () => [wellFormedToken(rng).slice(0, rng.int(0, 42)), "truncated token"]],
    [1, () => [wellFormedToken(rng) + rng.string(rng.int(1, 4), BASE62), "token too long"]],
    [1, () => ["zzzz_" + rng.string(38, BASE62), "unknown prefix"]],
    [1, () => [rng.bytes(rng.int(1, 60)).toString("latin1"), "random bytes"]],
    [1, () => [wellFormedToken(rng).slice(0, 20) + "\u0000" + wellFormedToken(rng).slice(21), "NUL inside"]],
    [1, () => [MARKER + wellFormedToken(rng), "marker"]],
    [1, () => ["\xff\xfe" + wellFormedToken(rng).slice(2), "non-UTF-8 bytes"]],
    [1, () => ["x".repeat(rng.pick([4097, 10_000, 100_000])), "huge"]],
  ])();
  const [t, tnote] = token;
  const org = (): string =>
    rng.weighted<() => string>([
      [4, () => rng.pick(ctx.identifiers)],
      [2, () => rng.pick(ctx.identifiers) + "\u0000"],
      [1, () => MARKER],
      [1, () => ""],
      [1, () => "é" + rng.pick(ctx.identifiers)],
      [1, () => "x".repeat(300)],
    ])();
  return rng.weighted<() => { value: string; note: string }>([
    [3, () => ({ value: t, note: `bare ${tnote}` })],
    [4, () => ({ value: `Bearer ${t}`, note: `Bearer ${tnote}` })],
    [1, () => ({ value: `${rng.pick(["bearer", "BEARER", "Bearer  ", " Bearer", "Bearer\t"])} ${t}`, note: `odd Bearer ${tnote}` })],
    [2, () => ({ value: `Token ${t}`, note: `Token ${tnote}` })],
    [
      3,
      () => {
        const o = org();
        return { value: `Basic ${b64(Buffer.from(`${o}:${t}`, "utf8"))}`, note: `Basic org ${JSON.stringify(o.slice(0, 20))} ${tnote}` };
      },
    ],
    [
      1,
      () => ({
        value: `Basic ${b64(Buffer.concat([Buffer.from([0xff, 0xfe, 0x3a]), Buffer.from(t, "latin1")]))}`,
        note: "Basic non-UTF-8",
      }),
    ],
    [1, () => ({ value: `Basic ${b64(t)}`, note: "Basic without colon" })],
    [
      1,
      () => ({
        value: `Basic ${rng.pick(["!!!!", "YWJj", "YW=Jj", "YWJj\u0000", "YW Jj", "-_-_", "YWJjZA", "YWJjZA=="])}`,
        note: "Basic bad base64",
      }),
    ],
    [
      1,
      () => ({
        value: rng.pick([
          "",
          "Bearer",
          "Basic",
          "Token",
          "Bearer ",
          " ",
          "Digest abc",
          `Negotiate ${t}`,
          `Bearer ${t} ${t}`,
          `Bearer ${t},Bearer ${t}`,
        ]),
        note: "odd scheme",
      }),
    ],
    [1, () => ({ value: `Bearer ${t}\u0000`, note: `Bearer ${tnote} NUL-terminated` })],
  ])();
}

// ---- page tokens ----

const b64url = (s: string): string => Buffer.from(s, "utf8").toString("base64url");

/**
 * Page tokens: mostly well-formed base64url JSON of the listing's own kind (`o` organizations,
 * `t` tokens) with a position made evil (NUL, huge numbers, wrong shapes), so they get past the
 * decoder and reach the query; then every way a token can fail to decode.
 */
export function pageToken(rng: Rng, listing: "o" | "t"): { value: string; note: string } {
  const kind = rng.chance(0.7) ? listing : rng.pick<unknown>(["o", "t", "b", "x", "", 1, null, ["o"]]);
  const goodPosition =
    listing === "o" ? rng.pick(["acme", "fuzz-org", "fuzz-sub", "fuzz-victim", "a", "zzzz"]) : `${rng.int(0, 1)}:${rng.int(0, 500)}`;
  const position = rng.weighted<() => unknown>([
    [2, () => goodPosition],
    [5, () => evil(rng, Buffer.from(goodPosition)).b.toString("utf8")],
    [
      3,
      () =>
        rng.pick<unknown>([
          "a\u0000",
          "\u0000",
          MARKER,
          "\ud800",
          "é",
          "x".repeat(600),
          "",
          "1:9223372036854775807",
          "1:9223372036854775808",
          "1:9999999999999999999",
          "0:9999999999999999999",
          "1:-1",
          "2:1",
          "1:1:1",
          "1:",
          ":",
          "1:1e3",
          "0:00000000000000000001",
        ]),
    ],
    [1, () => rng.pick<unknown>([0, 1.5, null, {}, [], true, 2 ** 64])],
  ])();
  return rng.weighted<() => { value: string; note: string }>([
    [
      10,
      () => {
        const json = JSON.stringify({ k: kind, p: position });
        return { value: b64url(json), note: `page token ${json.slice(0, 80)}` };
      },
    ],
    [
      1,
      () => {
        const json = rng.pick([
          "[]",
          "null",
          "1",
          '"o"',
          "{",
          '{"k":"o"}',
          `{"k":"${listing}","p":"a","p":1}`,
          `{"k":"${listing}","p":"1:1","x":1}`,
          "[".repeat(5000),
        ]);
        return { value: b64url(json), note: `page token JSON ${JSON.stringify(json.slice(0, 40))}` };
      },
    ],
    [
      1,
      () => {
        const json = JSON.stringify({ k: kind, p: position });
        return { value: Buffer.from(json).toString("base64"), note: `page token in standard base64 ${json.slice(0, 60)}` };
      },
    ],
    [1, () => ({ value: rng.bytes(rng.int(1, 40)).toString("base64url"), note: "page token of random bytes" })],
    [
      1,
      () => ({
        value: b64url(JSON.stringify({ k: listing, p: "a".repeat(rng.pick([700, 800, 2000])) })),
        note: "page token over 1024 characters",
      }),
    ],
    [1, () => ({ value: rng.pick(["%%%", "a b", "====", "\u0000", MARKER, "é"]), note: "page token not base64url" })],
  ])();
}

// Token values: `<prefix><secret><checksum>`, always 43 ASCII characters.
//
// - prefix (5 chars) names the kind, so a leaked value says what it grants and secret scanners
//   (GitHub push protection, trufflehog, ...) can match it with a simple pattern.
// - secret: 32 base62 chars from the CSPRNG, drawn by rejection sampling so every character is
//   uniform: 32 * log2(62) ≈ 190.5 bits.
// - checksum: CRC32 of prefix+secret in 6 base62 chars. It lets Verify reject mistyped, truncated
//   or made-up values cheaply, before any hashing or database work, and lets scanners discard
//   random look-alikes. It is not a security feature: anyone can compute it.
//
// Nothing here hashes or stores tokens; see digest.ts.

import { randomBytes } from "node:crypto";
import * as zlib from "node:zlib";
import { invalidArgument } from "./errors.js";

export type TokenKind = "INGESTION" | "OPERATOR" | "ALL_ACCESS" | "READ_WRITE" | "SHARED" | "VERIFIER";

export const TOKEN_PREFIXES: Readonly<Record<TokenKind, string>> = Object.freeze({
  INGESTION: "o2oi_",
  OPERATOR: "tsop_",
  ALL_ACCESS: "tsaa_",
  READ_WRITE: "tsrw_",
  SHARED: "tssh_",
  VERIFIER: "tsvf_",
});

const PREFIX_LENGTH = 5;
const SECRET_LENGTH = 32;
const CHECKSUM_LENGTH = 6;
export const TOKEN_LENGTH = PREFIX_LENGTH + SECRET_LENGTH + CHECKSUM_LENGTH; // 43

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BASE62_RE = /^[0-9A-Za-z]+$/;

const KIND_BY_PREFIX: ReadonlyMap<string, TokenKind> = new Map(
  (Object.entries(TOKEN_PREFIXES) as Array<[TokenKind, string]>).map(([kind, prefix]) => [prefix, kind]),
);

// ---- CRC32 (IEEE 802.3, as zlib/PNG) ----

let crcTable: Uint32Array | undefined;

/** Table-driven CRC32; used only where `zlib.crc32` (Node >= 20.15) is missing. Exported for tests. */
export function crc32Fallback(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of data) crc = crcTable[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;

function crc32(ascii: string): number {
  const bytes = Buffer.from(ascii, "latin1"); // callers pass ASCII only
  return nativeCrc32 ? nativeCrc32(bytes) >>> 0 : crc32Fallback(bytes);
}

/** CRC32 of `body` as exactly 6 base62 chars, left-padded with '0' (62^6 > 2^32, so it always fits). */
export function checksumOf(body: string): string {
  let n = crc32(body);
  let out = "";
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = BASE62[n % 62]! + out;
    n = Math.floor(n / 62);
  }
  return out;
}

// ---- generation ----

/** Uniform base62 string: bytes >= 248 (= 4 * 62) are discarded, so `b % 62` carries no bias. */
function randomBase62(length: number): string {
  let out = "";
  while (out.length < length) {
    // ~3% of bytes are rejected; ask for a little more than needed to usually finish in one call.
    for (const b of randomBytes(length + 8)) {
      if (b < 248) {
        out += BASE62[b % 62]!;
        if (out.length === length) break;
      }
    }
  }
  return out;
}

export function generateToken(kind: TokenKind): string {
  const prefix = TOKEN_PREFIXES[kind];
  if (prefix === undefined) throw new TypeError(`unknown token kind: ${String(kind)}`);
  const body = prefix + randomBase62(SECRET_LENGTH);
  return body + checksumOf(body);
}

// ---- parsing ----

export type ParsedToken = { ok: true; kind: TokenKind } | { ok: false; reason: string };

/**
 * Cheap structural check: length, prefix, alphabet, checksum. No hashing, no I/O.
 * Reasons never quote the value, so they are safe to return to clients and to log.
 */
export function parseToken(value: string): ParsedToken {
  if (typeof value !== "string" || value.length !== TOKEN_LENGTH) {
    return { ok: false, reason: `token must be exactly ${TOKEN_LENGTH} characters long` };
  }
  const kind = KIND_BY_PREFIX.get(value.slice(0, PREFIX_LENGTH));
  if (kind === undefined) return { ok: false, reason: "token has an unknown prefix" };
  const rest = value.slice(PREFIX_LENGTH);
  if (!BASE62_RE.test(rest)) {
    return { ok: false, reason: "token may contain only letters and digits after its prefix" };
  }
  const body = value.slice(0, TOKEN_LENGTH - CHECKSUM_LENGTH);
  if (checksumOf(body) !== value.slice(TOKEN_LENGTH - CHECKSUM_LENGTH)) {
    return { ok: false, reason: "token checksum does not match (mistyped or truncated token?)" };
  }
  return { ok: true, kind };
}

/** The kind whose prefix `value` starts with, if any; says nothing about the rest of the value. */
export function kindOfPrefix(value: string): TokenKind | undefined {
  return KIND_BY_PREFIX.get(value.slice(0, PREFIX_LENGTH));
}

/** The random part of a well-formed value (between prefix and checksum). */
export function secretOf(value: string): string {
  return value.slice(PREFIX_LENGTH, TOKEN_LENGTH - CHECKSUM_LENGTH);
}

export function isWellFormedToken(value: string): boolean {
  return parseToken(value).ok;
}

/**
 * Display form for lists and logs: `o2oi_…Xa9c`. The last 4 chars lie inside the checksum, so the
 * mask reveals nothing of the secret. Values that are not well-formed show only '…'.
 */
export function maskToken(value: string): string {
  if (!isWellFormedToken(value)) return "…";
  return `${value.slice(0, PREFIX_LENGTH)}…${value.slice(-4)}`;
}

/**
 * Setup lets an operator bring their own operator token (e.g. from a secret manager). Only
 * well-formed OPERATOR values are accepted; generate one with `tessera` rather than inventing one.
 */
export function tokenFromUserSupplied(value: string): string {
  const parsed = parseToken(value);
  if (!parsed.ok) {
    throw invalidArgument(
      `the supplied operator token is not well-formed: ${parsed.reason}; ` +
        `expected "${TOKEN_PREFIXES.OPERATOR}" followed by ${SECRET_LENGTH + CHECKSUM_LENGTH} letters and digits`,
    );
  }
  if (parsed.kind !== "OPERATOR") {
    throw invalidArgument(`the supplied token is a ${parsed.kind} token; an operator token starts with "${TOKEN_PREFIXES.OPERATOR}"`);
  }
  return value;
}

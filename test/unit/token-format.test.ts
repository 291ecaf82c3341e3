import assert from "node:assert/strict";
import * as zlib from "node:zlib";
import { TesseraError } from "../../src/domain/errors.js";
import {
  TOKEN_LENGTH,
  TOKEN_PREFIXES,
  checksumOf,
  crc32Fallback,
  generateToken,
  isWellFormedToken,
  maskToken,
  parseToken,
  tokenFromUserSupplied,
  type TokenKind,
} from "../../src/domain/token-format.js";

const KINDS = Object.keys(TOKEN_PREFIXES) as TokenKind[];

/** Replace the char at `i` by a different base62 char. */
function flip(value: string, i: number): string {
  const c = value[i] === "a" ? "b" : "a";
  return value.slice(0, i) + c + value.slice(i + 1);
}

describe("token format", () => {
  it("generates tokens of every kind that parse back to the same kind", () => {
    for (const kind of KINDS) {
      for (let n = 0; n < 200; n++) {
        const t = generateToken(kind);
        assert.equal(t.length, TOKEN_LENGTH);
        assert.ok(t.startsWith(TOKEN_PREFIXES[kind]));
        assert.match(t.slice(5), /^[0-9A-Za-z]{38}$/);
        assert.deepEqual(parseToken(t), { ok: true, kind });
      }
    }
  });

  it("uses the documented prefixes, all five characters long and distinct", () => {
    assert.equal(TOKEN_PREFIXES.INGESTION, "o2oi_");
    assert.equal(TOKEN_PREFIXES.OPERATOR, "tsop_");
    const prefixes = Object.values(TOKEN_PREFIXES);
    assert.equal(new Set(prefixes).size, prefixes.length);
    for (const p of prefixes) assert.equal(p.length, 5);
  });

  it("never generates the same token twice in ten thousand draws", () => {
    const seen = new Set<string>();
    for (let n = 0; n < 10_000; n++) seen.add(generateToken("INGESTION"));
    assert.equal(seen.size, 10_000);
  });

  it("draws secret characters roughly uniformly over the base62 alphabet", () => {
    const counts = new Map<string, number>();
    const draws = 3000;
    for (let n = 0; n < draws; n++) {
      for (const c of generateToken("READ_WRITE").slice(5, 37)) counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    assert.equal(counts.size, 62);
    const expected = (draws * 32) / 62; // ≈1548; modulo bias over bytes would skew the first 8 chars by ~25%
    for (const [c, k] of counts) assert.ok(Math.abs(k - expected) < expected * 0.15, `char ${c} drawn ${k} times`);
  });

  it("rejects a token with any single character of the secret or checksum changed", () => {
    const t = generateToken("ALL_ACCESS");
    for (let i = 5; i < TOKEN_LENGTH; i++) {
      const r = parseToken(flip(t, i));
      assert.equal(r.ok, false, `flip at ${i} accepted`);
    }
    const r = parseToken(flip(t, 10));
    assert.ok(!r.ok && /checksum/.test(r.reason));
  });

  it("rejects wrong lengths, unknown prefixes and non-base62 characters with distinct reasons", () => {
    const t = generateToken("SHARED");
    const short = parseToken(t.slice(0, -1));
    assert.ok(!short.ok && /43 characters/.test(short.reason));
    const long = parseToken(t + "a");
    assert.ok(!long.ok && /43 characters/.test(long.reason));
    const body = "abcd_" + t.slice(5, 37);
    const prefix = parseToken(body + checksumOf(body));
    assert.ok(!prefix.ok && /prefix/.test(prefix.reason));
    const bad = parseToken(t.slice(0, 20) + "-" + t.slice(21));
    assert.ok(!bad.ok && /letters and digits/.test(bad.reason));
    assert.equal(parseToken("").ok, false);
  });

  it("accepts a hand-built value whose checksum is right and rejects it once the prefix is swapped", () => {
    const body = "tsvf_" + "0".repeat(32);
    const value = body + checksumOf(body);
    assert.deepEqual(parseToken(value), { ok: true, kind: "VERIFIER" });
    assert.equal(isWellFormedToken("tsop_" + value.slice(5)), false);
  });

  it("computes CRC32 with the standard check value, in both the native and the fallback implementation", () => {
    const data = Buffer.from("123456789");
    assert.equal(crc32Fallback(data), 0xcbf43926);
    if (typeof zlib.crc32 === "function") {
      for (let n = 0; n < 50; n++) {
        const t = Buffer.from(generateToken("VERIFIER"));
        assert.equal(crc32Fallback(t), zlib.crc32(t) >>> 0);
      }
    }
  });

  it("encodes the checksum as exactly six base62 characters, left-padded with zeros", () => {
    for (let n = 0; n < 500; n++) assert.match(checksumOf(`x${n}`), /^[0-9A-Za-z]{6}$/);
    // CRC32('') is 0, the smallest value: all padding.
    assert.equal(checksumOf(""), "000000");
  });

  it("masks a token as prefix, ellipsis and its last four characters, never the secret", () => {
    for (const kind of KINDS) {
      const t = generateToken(kind);
      const m = maskToken(t);
      assert.equal(m, `${TOKEN_PREFIXES[kind]}…${t.slice(-4)}`);
      assert.ok(!m.includes(t.slice(5, 37)) && !m.includes(t.slice(13, 29)));
    }
  });

  it("masks malformed values without revealing any of their characters", () => {
    assert.equal(maskToken("o2oi_thisisnotarealtokenbutlooksalittlelikeone"), "…");
    assert.equal(maskToken(""), "…");
  });

  it("accepts a user-supplied operator token and rejects other kinds or malformed values with INVALID_ARGUMENT", () => {
    const op = generateToken("OPERATOR");
    assert.equal(tokenFromUserSupplied(op), op);
    const ingestion = generateToken("INGESTION");
    assert.throws(
      () => tokenFromUserSupplied(ingestion),
      (e: unknown) => e instanceof TesseraError && e.code === "INVALID_ARGUMENT" && /INGESTION/.test(e.publicMessage),
    );
    const typo = flip(op, 20);
    assert.throws(
      () => tokenFromUserSupplied(typo),
      (e: unknown) =>
        e instanceof TesseraError &&
        e.code === "INVALID_ARGUMENT" &&
        /checksum/.test(e.publicMessage) &&
        !e.publicMessage.includes(typo.slice(5, 37)),
    );
  });
});

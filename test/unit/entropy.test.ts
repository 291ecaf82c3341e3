/**
 * The entropy estimator (src/domain/entropy.ts) and the rules for brought values
 * (src/domain/token-value.ts): random values of the usual shapes pass, every kind of pattern is
 * caught, and refusals never quote the value.
 */
import assert from "node:assert/strict";
import { randomBytes, randomInt } from "node:crypto";
import { estimateEntropy, effectiveAlphabet } from "../../src/domain/entropy.js";
import { isTesseraError } from "../../src/domain/errors.js";
import { checksumOf, generateToken, TOKEN_PREFIXES } from "../../src/domain/token-format.js";
import { acceptBroughtValue, maskImported, presentedShape } from "../../src/domain/token-value.js";

const randomFrom = (alphabet: string, n: number): string => Array.from({ length: n }, () => alphabet[randomInt(alphabet.length)]!).join("");
const HEX = "0123456789abcdef";
const ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const PRINTABLE = Array.from({ length: 94 }, (_, i) => String.fromCharCode(0x21 + i)).join("");

function refusal(kind: Parameters<typeof acceptBroughtValue>[0], value: string): string {
  try {
    acceptBroughtValue(kind, value);
  } catch (err) {
    assert.ok(isTesseraError(err), String(err));
    assert.equal(err.code, "INVALID_ARGUMENT");
    // Never the value, nor any 6 characters of it.
    for (let i = 0; i + 6 <= value.length; i++)
      assert.ok(!err.publicMessage.includes(value.slice(i, i + 6)), `the message quotes the value: ${err.publicMessage}`);
    return err.publicMessage;
  }
  assert.fail("the value was accepted");
}

describe("entropy estimate", () => {
  it("credits random characters by their alphabet: hex 4 bits, alphanumerics ~5.95, printable ASCII ~6.55 a character", () => {
    const hex = estimateEntropy(randomFrom(HEX, 64));
    const alnum = estimateEntropy(randomFrom(ALNUM, 43));
    const printable = estimateEntropy(randomFrom(PRINTABLE, 40));
    assert.ok(hex.bits > 220 && hex.bits <= 256, `64 hex digits: ${hex.bits}`);
    assert.ok(alnum.bits > 220 && alnum.bits <= 43 * Math.log2(62) + 0.001, `43 alphanumerics: ${alnum.bits}`);
    assert.ok(printable.bits > 220 && printable.bits <= 40 * Math.log2(94) + 0.001, `40 printable: ${printable.bits}`);
  });

  it("passes random 32-character alphanumeric values, base64 keys and 40 hex digits every time", () => {
    for (let k = 0; k < 200; k++) {
      for (const v of [
        randomFrom(ALNUM, 32),
        randomBytes(32).toString("base64"),
        randomBytes(32).toString("base64url"),
        randomFrom(HEX, 40),
      ]) {
        assert.ok(estimateEntropy(v).bits >= 128, `${v}: ${estimateEntropy(v).bits}`);
      }
    }
  });

  it("shrinks the alphabet of a string that shows too few distinct characters for it", () => {
    assert.deepEqual(effectiveAlphabet(randomFrom("01", 200)), { size: 2, shrunk: true });
    assert.equal(effectiveAlphabet(randomFrom("abcd", 100)).size, 4);
    assert.deepEqual(effectiveAlphabet(randomFrom(HEX, 64)), { size: 16, shrunk: false });
    const binary = estimateEntropy(randomFrom("01", 128));
    assert.ok(binary.bits <= 128, `128 random bits written in 0s and 1s count at most 128: ${binary.bits}`);
    assert.ok(binary.weaknesses.includes("few-characters"));
  });

  it("finds repeats, sequences, keyboard runs and words, and charges them little", () => {
    for (const [value, weakness, most] of [
      ["a".repeat(64), "repeat", 10],
      ["x7Kq".repeat(16), "repeat", 40],
      ["abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", "sequence", 40],
      ["9876543210".repeat(4), "sequence", 30],
      ["qwertyuiopasdfghjklzxcvbnm1234567890", "keyboard", 60],
      ["password".repeat(5), "word", 30],
      ["P@ssw0rd!Summer2024Welcome#Dragon99", "word", 110],
    ] as const) {
      const e = estimateEntropy(value);
      assert.ok(e.bits < most, `${value}: ${e.bits} bits`);
      assert.ok(e.weaknesses.includes(weakness), `${value}: ${e.weaknesses.join(",")}`);
    }
  });

  it("is an estimate of the whole string: a strong part is not undone by a weak one beside it", () => {
    const strong = randomFrom(ALNUM, 32);
    const e = estimateEntropy(`password${strong}`);
    assert.ok(e.bits >= estimateEntropy(strong).bits - 12, `${e.bits}`);
  });
});

describe("brought values", () => {
  it("accepts a Tessera-format value of the token's own kind as SUPPLIED, masked as generated ones", () => {
    for (const kind of ["INGESTION", "ALL_ACCESS", "READ_WRITE", "SHARED", "VERIFIER"] as const) {
      const v = generateToken(kind);
      assert.deepEqual(acceptBroughtValue(kind, v), { origin: "SUPPLIED", mask: `${v.slice(0, 5)}…${v.slice(-4)}` });
    }
  });

  it("refuses OPERATOR values, another kind's Tessera value naming the prefix expected, and a mistyped Tessera value", () => {
    assert.match(refusal("OPERATOR", generateToken("OPERATOR")), /OPERATOR tokens cannot be given a value/);
    assert.match(refusal("INGESTION", generateToken("READ_WRITE")), /starts with "o2oi_"/);
    const good = generateToken("INGESTION");
    const typo = `${good.slice(0, 10)}${good[10] === "A" ? "B" : "A"}${good.slice(11)}`;
    assert.match(refusal("INGESTION", typo), /looks like a Tessera INGESTION token but is not one/);
    // A Tessera prefix and length with characters outside base62 is no imported value either.
    assert.match(refusal("VERIFIER", `${TOKEN_PREFIXES.VERIFIER}${"-".repeat(38)}`), /looks like a Tessera/);
  });

  it("refuses a supplied Tessera value whose secret is predictable", () => {
    const body = `o2oi_${"A".repeat(32)}`;
    assert.match(refusal("INGESTION", body + checksumOf(body)), /too predictable/);
  });

  it("accepts imported values of 32 and 512 characters, and refuses 31, 513, spaces and non-printable characters", () => {
    for (const n of [32, 512]) assert.equal(acceptBroughtValue("INGESTION", randomFrom(ALNUM, n)).origin, "IMPORTED");
    assert.match(refusal("INGESTION", randomFrom(ALNUM, 31)), /at least 32/);
    assert.match(refusal("INGESTION", randomFrom(ALNUM, 513)), /at most 512/);
    const v = randomFrom(ALNUM, 40);
    for (const bad of [`${v.slice(0, 20)} ${v.slice(20)}`, `${v}\n`, `${v}\u0000`, `${v}é`, `${v}\t`]) {
      assert.match(refusal("INGESTION", bad), /printable ASCII/);
    }
  });

  it("refuses low-entropy imported values, saying why and never what", () => {
    for (const [value, why] of [
      ["a".repeat(40), /repeated/],
      ["abcdefghijklmnopqrstuvwxyz0123456789", /sequence/],
      ["0123456789012345678901234567890123456789", /sequence|repeated/],
      ["qwertyuiopasdfghjklzxcvbnmqwertyuiop", /keyboard|repeated/],
      ["password1234password1234password1234", /word|repeated/],
      ["Welcome2024!Welcome2024!Welcome2024!", /word|repeated/],
      [randomFrom("01", 100), /few distinct characters/],
      [randomFrom("abc", 64), /few distinct characters/],
    ] as const) {
      const msg = refusal("INGESTION", value);
      assert.match(msg, /too predictable: about \d+ bits of estimated entropy, at least 128 are required/);
      assert.match(msg, why);
    }
  });

  it("masks an imported value as its first 3 and last 4 characters: at most 7 of at least 32", () => {
    const v = randomFrom(ALNUM, 32);
    assert.equal(maskImported(v), `${v.slice(0, 3)}…${v.slice(-4)}`);
    assert.equal(acceptBroughtValue("INGESTION", v).mask, maskImported(v));
  });
});

describe("presented shapes", () => {
  it("tells Tessera tokens, possible imported values and malformed values apart without hashing", () => {
    const good = generateToken("INGESTION");
    assert.deepEqual(presentedShape(good), { shape: "tessera", kind: "INGESTION" });
    for (const v of [good.slice(0, 42), `xxxx_${good.slice(5)}`, randomFrom(PRINTABLE, 512), randomFrom(ALNUM, 32), `${good}x`]) {
      assert.equal(presentedShape(v).shape, "imported", v);
    }
    const typo = `${good.slice(0, 10)}${good[10] === "A" ? "B" : "A"}${good.slice(11)}`;
    for (const v of [typo, randomFrom(ALNUM, 31), randomFrom(ALNUM, 513), `${randomFrom(ALNUM, 40)}\u00e9`, ""]) {
      const s = presentedShape(v);
      assert.equal(s.shape, "malformed", v);
      if (s.shape === "malformed") assert.ok(v === "" || !s.reason.includes(v.slice(0, 8)));
    }
  });
});

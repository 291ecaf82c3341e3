import assert from "node:assert/strict";
import { TesseraError } from "../../src/domain/errors.js";
import { parseAuthorizationHeader, parseCredential } from "../../src/domain/credential.js";

const TOKEN = "o2oi_abcdefghijklmnopqrstuvwxyz0123456ABCDEF";
const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");

function rejected(raw: string, re?: RegExp): string {
  const r = parseCredential(raw);
  assert.equal(r.ok, false, `accepted: ${JSON.stringify(raw)}`);
  if (r.ok) throw new Error("unreachable");
  if (re) assert.match(r.reason, re);
  assert.ok(!r.reason.includes(TOKEN), "reason quotes the token");
  return r.reason;
}

describe("credential parsing", () => {
  it("accepts a bare token", () => {
    assert.deepEqual(parseCredential(TOKEN), { ok: true, token: TOKEN });
  });

  it("accepts Bearer and Token schemes in any letter case", () => {
    for (const scheme of ["Bearer", "bearer", "BEARER", "Token", "tOkEn"]) {
      assert.deepEqual(parseCredential(`${scheme} ${TOKEN}`), { ok: true, token: TOKEN });
    }
  });

  it('refuses a bare scheme name and judges "Bearer " followed by anything but one plain word like any other form', () => {
    rejected("Bearer", /scheme needs a token/);
    rejected("token", /scheme needs a token/);
    rejected(`Bearer ${TOKEN} x`, /single word/);
    rejected(`Bearer ${TOKEN}\u00e9`, /non-ASCII/);
    rejected(`Bearer ${TOKEN}\t`, /control characters/);
    assert.deepEqual(parseCredential(`Bearer  ${TOKEN}`), { ok: true, token: TOKEN });
  });

  it("tolerates surrounding spaces and several spaces after the scheme", () => {
    assert.deepEqual(parseCredential(`  Bearer   ${TOKEN} `), { ok: true, token: TOKEN });
  });

  it("splits Basic credentials into organization identifier and token", () => {
    assert.deepEqual(parseCredential(`Basic ${b64(`acme:${TOKEN}`)}`), { ok: true, token: TOKEN, orgIdentifier: "acme" });
    assert.deepEqual(parseCredential(`basic ${b64(`acme:${TOKEN}`)}`), { ok: true, token: TOKEN, orgIdentifier: "acme" });
  });

  it("splits Basic credentials at the first colon and treats an empty identifier as absent", () => {
    assert.deepEqual(parseCredential(`Basic ${b64("acme:a:b")}`), { ok: true, token: "a:b", orgIdentifier: "acme" });
    assert.deepEqual(parseCredential(`Basic ${b64(`:${TOKEN}`)}`), { ok: true, token: TOKEN });
  });

  it("rejects empty, blank and over-long credentials", () => {
    rejected("", /empty/);
    rejected("   ", /empty/);
    rejected("a".repeat(4097), /4096/);
    assert.equal(parseCredential("a".repeat(4096)).ok, true);
  });

  it("rejects CR, LF, NUL, tab and other control characters anywhere", () => {
    for (const c of ["\r", "\n", "\0", "\t", "\x1b", "\x7f"]) {
      rejected(`Bearer ${TOKEN}${c}`, /control/);
      rejected(`${c}${TOKEN}`, /control/);
    }
    rejected(`Bearer ${TOKEN}\r\nX-Injected: 1`, /control/);
  });

  it("rejects non-ASCII characters outside Basic", () => {
    rejected(`Bearer ${TOKEN}é`, /non-ASCII/);
  });

  it("rejects unknown schemes without naming them", () => {
    assert.doesNotMatch(rejected(`Digest ${TOKEN}`, /unsupported authorization scheme/), /Digest/);
    rejected(`${TOKEN} ${TOKEN}`, /unsupported authorization scheme/);
  });

  it("rejects a scheme without a token and a token split by spaces", () => {
    rejected("Bearer", /needs a token/);
    rejected("basic   ", /needs a token/);
    rejected(`Bearer ${TOKEN} extra`, /single word/);
  });

  it("rejects Basic credentials that are not strict base64", () => {
    const good = b64(`acme:${TOKEN}x`); // length chosen so the encoding ends in padding
    assert.match(good, /=$/);
    rejected(`Basic ${good.replace(/=+$/, "")}`, /not valid base64/); // missing padding
    rejected(`Basic ${good.slice(0, 4)}!${good.slice(5)}`, /not valid base64/); // bad alphabet
    rejected(`Basic ${good.replace(/\+|\//g, "-")}x`, /not valid base64/);
    rejected("Basic YWJj=", /not valid base64/); // padding in the wrong place
    rejected("Basic YR==", /not valid base64/); // non-canonical trailing bits
    rejected("Basic =", /not valid base64/);
  });

  it("rejects Basic credentials that decode to invalid UTF-8 or contain control characters", () => {
    rejected(`Basic ${Buffer.from([0x61, 0x3a, 0xff, 0xfe, 0x41]).toString("base64")}`, /UTF-8/);
    rejected(`Basic ${b64(`acme:${TOKEN}\n`)}`, /control/);
    rejected(`Basic ${b64(`ac\0me:${TOKEN}`)}`, /control/);
  });

  it("rejects Basic credentials without a colon or with an empty token", () => {
    rejected(`Basic ${b64(TOKEN)}`, /colon/);
    rejected(`Basic ${b64("acme:")}`, /empty/);
    rejected(`Basic ${b64("acme:tok en")}`, /without spaces/);
  });

  it("throws UNAUTHENTICATED with guidance for missing or malformed admin headers", () => {
    const check = (raw: string | undefined, re: RegExp) =>
      assert.throws(
        () => parseAuthorizationHeader(raw),
        (e: unknown) => e instanceof TesseraError && e.code === "UNAUTHENTICATED" && re.test(e.publicMessage),
      );
    check(undefined, /missing credentials.*Bearer <token>/);
    check("", /missing credentials/);
    check(`Bearer ${TOKEN}\n`, /malformed authorization header: .*control/);
    assert.deepEqual(parseAuthorizationHeader(`Bearer ${TOKEN}`), { token: TOKEN });
    assert.deepEqual(parseAuthorizationHeader(`Basic ${b64(`acme:${TOKEN}`)}`), { token: TOKEN, orgIdentifier: "acme" });
  });
});

/**
 * Values a caller brings to CreateToken, and how Verify tells the shapes of presented values
 * apart before any hashing or lookup. Two kinds of brought value:
 *
 * - SUPPLIED: a Tessera-format value (token-format.ts) of the token's own kind, e.g. generated
 *   by an infrastructure-as-code tool so a redeployed fleet keeps its tokens;
 * - IMPORTED: a value from another system, kept as it is: 32 to 512 printable ASCII characters
 *   without spaces (a credential is one word: Verify could never accept a value with a space)
 *   and at least 128 bits of estimated entropy (entropy.ts).
 *
 * A value that looks like a Tessera token (a Tessera prefix and 43 characters) but is not one is
 * refused rather than imported: it is a mistyped Tessera token, and importing it would make the
 * checksum meaningless for everyone.
 *
 * Messages name what is wrong, never the value or any part of it.
 */
import { estimateEntropy, type Weakness } from "./entropy.js";
import { invalidArgument } from "./errors.js";
import { kindOfPrefix, maskToken, parseToken, secretOf, TOKEN_LENGTH, TOKEN_PREFIXES, type TokenKind } from "./token-format.js";

/** Where a token's current value came from. */
export type ValueOrigin = "GENERATED" | "SUPPLIED" | "IMPORTED";

const IMPORTED_MIN_LENGTH = 32;
const IMPORTED_MAX_LENGTH = 512;
const MIN_ENTROPY_BITS = 128;

const WEAKNESS_TEXT: Readonly<Record<Weakness, string>> = {
  repeat: "repeated characters or parts",
  sequence: "a sequence such as abcd or 1234",
  keyboard: "a keyboard run such as qwer or asdf",
  word: "a common word",
  "few-characters": "too few distinct characters",
};

/** Whether every character is printable ASCII other than space (0x21–0x7e): one pass, no regex. */
function isPrintableWord(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/**
 * How Verify treats a presented value, judged from the value alone (no hashing, no I/O):
 * a Tessera token, a possible imported value, or malformed with a reason that never quotes it.
 */
export type PresentedShape = { shape: "tessera"; kind: TokenKind } | { shape: "imported" } | { shape: "malformed"; reason: string };

const IMPORTED: PresentedShape = Object.freeze({ shape: "imported" });

export function presentedShape(value: string): PresentedShape {
  const parsed = parseToken(value);
  if (parsed.ok) return { shape: "tessera", kind: parsed.kind };
  // A Tessera prefix and a Tessera length: a mistyped Tessera token, never an imported value.
  if (value.length === TOKEN_LENGTH && kindOfPrefix(value) !== undefined) return { shape: "malformed", reason: parsed.reason };
  if (value.length >= IMPORTED_MIN_LENGTH && value.length <= IMPORTED_MAX_LENGTH && isPrintableWord(value)) return IMPORTED;
  return {
    shape: "malformed",
    reason: `token must be a Tessera token (${TOKEN_LENGTH} characters) or an imported value of ${IMPORTED_MIN_LENGTH} to ${IMPORTED_MAX_LENGTH} printable ASCII characters`,
  };
}

/**
 * Display form of an imported value: its first 3 and last 4 characters, `abc…wxyz`. At the
 * shortest (32 characters) that shows 7, under a quarter; the part it hides still carries most of
 * the value's entropy, and the ends are what someone holding the value compares.
 */
export function maskImported(value: string): string {
  return `${value.slice(0, 3)}…${value.slice(-4)}`;
}

function requireStrong(text: string, what: string): void {
  const e = estimateEntropy(text);
  if (e.bits >= MIN_ENTROPY_BITS) return;
  const why = e.weaknesses.map((w) => WEAKNESS_TEXT[w]).join(", ");
  throw invalidArgument(
    `${what} is too predictable: about ${Math.floor(e.bits)} bits of estimated entropy, at least ${MIN_ENTROPY_BITS} are required` +
      (why === "" ? "; use a longer random value" : ` (it contains ${why}); use a longer random value`),
  );
}

/**
 * Judges a value brought for a new token of `kind`: its origin and the mask to store. Throws
 * INVALID_ARGUMENT, naming what is wrong and never the value.
 */
export function acceptBroughtValue(kind: TokenKind, value: string): { origin: "SUPPLIED" | "IMPORTED"; mask: string } {
  if (kind === "OPERATOR") {
    throw invalidArgument("OPERATOR tokens cannot be given a value: Setup and `tessera recovery` mint them");
  }
  const parsed = parseToken(value);
  if (parsed.ok) {
    if (parsed.kind !== kind) {
      throw invalidArgument(`value is a Tessera ${parsed.kind} token value; a ${kind} token's value starts with "${TOKEN_PREFIXES[kind]}"`);
    }
    requireStrong(secretOf(value), "the value's secret part");
    return { origin: "SUPPLIED", mask: maskToken(value) };
  }
  const prefixKind = kindOfPrefix(value);
  if (value.length === TOKEN_LENGTH && prefixKind !== undefined) {
    throw invalidArgument(
      `value looks like a Tessera ${prefixKind} token but is not one (${parsed.reason}); ` +
        `a ${kind} token's value is "${TOKEN_PREFIXES[kind]}" followed by 38 letters and digits`,
    );
  }
  if (value.length < IMPORTED_MIN_LENGTH)
    throw invalidArgument(`an imported value must be at least ${IMPORTED_MIN_LENGTH} characters long`);
  if (value.length > IMPORTED_MAX_LENGTH) throw invalidArgument(`an imported value must be at most ${IMPORTED_MAX_LENGTH} characters long`);
  if (!isPrintableWord(value)) {
    throw invalidArgument("an imported value may contain only printable ASCII characters, without spaces (a credential is one word)");
  }
  requireStrong(value, "the imported value");
  return { origin: "IMPORTED", mask: maskImported(value) };
}

// The rule every client-supplied string meets before anything stores, compares or queries it.
//
// PostgreSQL's text cannot hold a NUL byte (the whole statement fails, and with it every caller
// batched into it), and a lone UTF-16 surrogate (which JSON can spell, "\ud800") has no UTF-8
// form. Field-specific rules (names.ts) are stricter; this is the floor under all of them.

/** The longest string any request field may carry, in UTF-16 code units. */
const MAX_FIELD_LENGTH = 4096;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** What is wrong with `s`, phrased to follow a field name; undefined if nothing is. Never quotes `s`. */
export function textProblem(s: string, max = MAX_FIELD_LENGTH): string | undefined {
  if (s.length > max) return `is longer than ${max} characters`;
  if (s.includes("\u0000")) return "contains a NUL character";
  if (LONE_SURROGATE.test(s)) return "is not valid Unicode text";
  return undefined;
}

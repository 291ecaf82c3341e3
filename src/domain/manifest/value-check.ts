/**
 * Whether a value a manifest supplies for a new token (from an environment variable or a file)
 * can be that token's value, judged before anything is sent, by the very rule CreateToken applies
 * (token-value.ts): a Tessera-format value of the token's kind, or a value imported from another
 * system, with enough entropy either way. Answers never quote the value.
 */
import { isTesseraError } from "../errors.js";
import type { TokenKind } from "../token-format.js";
import { acceptBroughtValue } from "../token-value.js";

/** What is wrong with `value` as the value of a new `kind` token; undefined if nothing. */
export function valueProblem(kind: TokenKind, value: string): string | undefined {
  try {
    acceptBroughtValue(kind, value);
    return undefined;
  } catch (err) {
    if (!isTesseraError(err)) throw err;
    return err.publicMessage;
  }
}

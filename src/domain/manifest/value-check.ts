/**
 * Whether a value a manifest supplies for a new token (from an environment variable or a file)
 * can be that token's value, judged before anything is sent. Two forms exist (issue 12):
 * a Tessera-format value of the token's kind (prefix, secret, checksum, checked exactly as Verify
 * checks it), or a value imported from another system (32 to 512 printable ASCII characters, no
 * spaces). The server judges again when the value reaches it, entropy included; once the
 * server's own judgement of brought values is in the domain, this function should defer to it.
 * Answers never quote the value.
 */
import { TOKEN_LENGTH, TOKEN_PREFIXES, parseToken, type TokenKind } from "../token-format.js";

const MIN_IMPORTED = 32;
const MAX_IMPORTED = 512;

/** A Tessera prefix and a Tessera length: a (perhaps mistyped) Tessera token, never an imported value. */
const looksLikeTessera = (value: string): boolean =>
  value.length === TOKEN_LENGTH && Object.values(TOKEN_PREFIXES).some((prefix) => value.startsWith(prefix));

/** What is wrong with `value` as the value of a new `kind` token, as a clause; undefined if nothing. */
export function valueProblem(kind: TokenKind, value: string): string | undefined {
  const parsed = parseToken(value);
  if (parsed.ok) {
    if (parsed.kind !== kind) return `it is a ${parsed.kind} token value; a ${kind} token's value starts with "${TOKEN_PREFIXES[kind]}"`;
    return undefined;
  }
  if (looksLikeTessera(value)) return `it looks like a Tessera token but is not one: ${parsed.reason}`;
  if (value.length < MIN_IMPORTED || value.length > MAX_IMPORTED) {
    return `it is neither a Tessera token nor an imported value of ${MIN_IMPORTED} to ${MAX_IMPORTED} characters (it has ${value.length})`;
  }
  if (!/^[\x21-\x7e]*$/.test(value)) return "an imported value may contain only printable ASCII characters, without spaces";
  return undefined;
}

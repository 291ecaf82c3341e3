/**
 * Shared copies of the values that many Verify lookups repeat. A cache of a million lookups
 * holds a million rows' worth of kind names, organization ids, identifiers and permission
 * objects, yet an organization has many tokens and most tokens of a kind grant the same: one
 * copy each keeps the cache smaller, and a smaller heap keeps garbage collection cheap under load.
 *
 * Each table is bounded and simply starts over when full, so an unusual workload costs copies,
 * never unbounded memory. Shared permission objects are deeply frozen: nothing may change what
 * other lookups see.
 */
import pg from "pg";
import { deepFreeze } from "../../domain/deep-freeze.js";
import { TOKEN_PREFIXES, type TokenKind } from "../../domain/token-format.js";

const MAX_STRINGS = 65_536;
const MAX_PERMISSIONS = 4_096;

const strings = new Map<string, string>();

/** The six kind names as constants: a cache of a million lookups need not hold a million copies of "INGESTION". */
const KINDS = new Map<string, TokenKind>((Object.keys(TOKEN_PREFIXES) as TokenKind[]).map((k) => [k, k]));

/** The constant for a kind name read from a row. */
export const internKind = (kind: TokenKind): TokenKind => KINDS.get(kind) ?? kind;

/** The shared copy of an organization id or identifier (null stays null). */
export function internString<T extends string | null>(s: T): T {
  if (s === null) return s;
  const shared = strings.get(s);
  if (shared !== undefined) return shared as T;
  if (strings.size >= MAX_STRINGS) strings.clear();
  strings.set(s, s);
  return s;
}

const permissions = new Map<string, unknown>();
const parseJson = pg.types.getTypeParser(pg.types.builtins.JSONB) as (text: string) => unknown;

/** jsonb as a shared, deeply frozen value per distinct text: the lookup's permissions. */
function internedJsonb(text: string): unknown {
  let v = permissions.get(text);
  if (v === undefined) {
    if (permissions.size >= MAX_PERMISSIONS) permissions.clear();
    v = deepFreeze(parseJson(text));
    permissions.set(text, v);
  }
  return v;
}

/** Type parsers for the lookup query: pg's own, but jsonb values shared (see internedJsonb). */
export const LOOKUP_TYPES = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === pg.types.builtins.JSONB && format !== "binary") return internedJsonb;
    return pg.types.getTypeParser(oid, format as "text");
  },
} as pg.CustomTypesConfig;

/**
 * Opaque page tokens. They carry a position (a sort key), never data; a token that does not
 * decode, or belongs to another listing, is INVALID_ARGUMENT rather than a silent first page.
 *
 * A listing with filters binds its tokens to them (AIP-158): the token carries a digest of the
 * request's filters and organization, and a token presented with other ones is INVALID_ARGUMENT,
 * where it would otherwise continue some other listing from a position that means nothing there.
 * The digest keeps the filter values themselves (a name prefix, say) out of the token. `page_size`
 * is no filter: a client may change it from one page to the next.
 */
import { createHash } from "node:crypto";
import { invalidArgument } from "../domain/errors.js";
import { textProblem } from "../domain/text.js";

const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;
/** Positions are sort keys (identifiers, sequence numbers): far shorter than this. */
const MAX_POSITION_LENGTH = 256;

export function pageSize(requested: number): number {
  if (requested < 0) throw invalidArgument("page_size must not be negative");
  if (requested === 0) return DEFAULT_PAGE_SIZE;
  return Math.min(requested, MAX_PAGE_SIZE);
}

/** What a listing's tokens are bound to: see bindPage. */
export interface PageBinding {
  digest: string;
  /** Whether a token carrying no binding (from a release before bindings) is still accepted. */
  acceptUnbound: boolean;
}

/**
 * The binding of a listing's page tokens to `filters` (every filter of the request, unset ones
 * included, and the organization it lists). `acceptUnbound` keeps tokens of the previous release,
 * which carried none, working for the requests that release could have made.
 */
export function bindPage(filters: Record<string, string | number | boolean | undefined>, acceptUnbound = false): PageBinding {
  const canonical = JSON.stringify(
    Object.keys(filters)
      .sort()
      .map((k) => [k, filters[k] ?? null]),
  );
  return { digest: createHash("sha256").update(canonical).digest("base64url").slice(0, 22), acceptUnbound };
}

export function encodePageToken(kind: string, position: string, binding?: PageBinding): string {
  const body = binding === undefined ? { k: kind, p: position } : { k: kind, p: position, f: binding.digest };
  return Buffer.from(JSON.stringify(body), "utf8").toString("base64url");
}

/**
 * The position in a page token of listing `kind`, checked by the listing's `parse` (undefined
 * means not one of its positions) and against the request's `binding`; INVALID_ARGUMENT for
 * anything else.
 */
export function decodePageToken(token: string, kind: string): string;
export function decodePageToken<T>(token: string, kind: string, parse: (position: string) => T | undefined, binding?: PageBinding): T;
export function decodePageToken<T>(
  token: string,
  kind: string,
  parse?: (position: string) => T | undefined,
  binding?: PageBinding,
): T | string {
  let v: { k?: unknown; p?: unknown; f?: unknown };
  let result: T | string;
  try {
    if (token.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(token)) throw new Error("shape");
    v = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as typeof v;
    if (v.k !== kind || typeof v.p !== "string" || (v.f !== undefined && typeof v.f !== "string")) throw new Error("kind");
    // The position goes to SQL: a forged token must not carry a NUL or broken text there.
    if (textProblem(v.p, MAX_POSITION_LENGTH) !== undefined) throw new Error("position");
    if (parse === undefined) {
      result = v.p;
    } else {
      const parsed = parse(v.p);
      if (parsed === undefined) throw new Error("position");
      result = parsed;
    }
  } catch {
    throw invalidArgument("page_token is not valid for this listing; pass the next_page_token of a previous response");
  }
  if (binding !== undefined && (v.f === undefined ? !binding.acceptUnbound : v.f !== binding.digest)) {
    throw invalidArgument(
      "page_token does not match the request's filters; send the same filters and organization as the request that returned it, or start over without a page_token",
    );
  }
  return result;
}

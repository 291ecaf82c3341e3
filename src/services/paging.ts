/**
 * Opaque page tokens. They carry a position (a sort key), never data; a token that does not
 * decode, or belongs to another listing, is INVALID_ARGUMENT rather than a silent first page.
 */
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

export function encodePageToken(kind: string, position: string): string {
  return Buffer.from(JSON.stringify({ k: kind, p: position }), "utf8").toString("base64url");
}

/**
 * The position in a page token of listing `kind`, checked by the listing's `parse` (undefined
 * means not one of its positions); INVALID_ARGUMENT for anything else.
 */
export function decodePageToken(token: string, kind: string): string;
export function decodePageToken<T>(token: string, kind: string, parse: (position: string) => T | undefined): T;
export function decodePageToken<T>(token: string, kind: string, parse?: (position: string) => T | undefined): T | string {
  try {
    if (token.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(token)) throw new Error("shape");
    const v = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { k?: unknown; p?: unknown };
    if (v.k !== kind || typeof v.p !== "string") throw new Error("kind");
    // The position goes to SQL: a forged token must not carry a NUL or broken text there.
    if (textProblem(v.p, MAX_POSITION_LENGTH) !== undefined) throw new Error("position");
    if (parse === undefined) return v.p;
    const parsed = parse(v.p);
    if (parsed === undefined) throw new Error("position");
    return parsed;
  } catch {
    throw invalidArgument("page_token is not valid for this listing; pass the next_page_token of a previous response");
  }
}

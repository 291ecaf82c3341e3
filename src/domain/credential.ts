// Credentials as presented to Verify or in an `authorization` header/metadata value:
//
//   <token>                         bare token
//   Bearer <token> | Token <token>  (scheme names are case-insensitive)
//   Basic base64(<org identifier>:<token>)   as OpenObserve/InfluxDB clients send it
//
// This module only splits the credential; token-format.ts judges the token itself. Parsing is
// strict because the input comes straight from untrusted clients: no control characters (header
// injection, log forging), no lenient base64, a hard length cap. Failure reasons are safe to return
// and to log: they never quote the input, which may contain a token.

import { unauthenticated } from "./errors.js";

const MAX_CREDENTIAL_LENGTH = 4096;

export interface Credential {
  token: string;
  /** From `Basic identifier:token`; absent for other forms or an empty identifier. */
  orgIdentifier?: string;
}

export type ParsedCredential = ({ ok: true } & Credential) | { ok: false; reason: string };

const SCHEMES = new Set(["bearer", "token", "basic"]);
const PRINTABLE_ASCII_RE = /^[\x21-\x7e]+$/; // no space: a token is one word
const CONTROL_RE = /[\x00-\x1f\x7f-\x9f]/;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

const fail = (reason: string): ParsedCredential => ({ ok: false, reason });

function checkToken(token: string): ParsedCredential | undefined {
  if (token.length === 0) return fail("the token part of the credential is empty");
  if (!PRINTABLE_ASCII_RE.test(token)) return fail("the token may contain only printable ASCII characters without spaces");
  return undefined;
}

/** Strict base64: standard alphabet, correct padding, canonical trailing bits. Buffer.from is lenient, so check first. */
function decodeStrictBase64(text: string): Buffer | undefined {
  if (text.length === 0 || !BASE64_RE.test(text)) return undefined;
  const bytes = Buffer.from(text, "base64");
  return bytes.toString("base64") === text ? bytes : undefined;
}

function parseBasic(param: string): ParsedCredential {
  const bytes = decodeStrictBase64(param);
  if (!bytes) return fail("Basic credentials are not valid base64");
  let decoded: string;
  try {
    decoded = utf8.decode(bytes);
  } catch {
    return fail("Basic credentials do not decode to UTF-8 text");
  }
  if (CONTROL_RE.test(decoded)) return fail("Basic credentials contain control characters");
  const colon = decoded.indexOf(":");
  if (colon < 0) return fail('Basic credentials must be base64("<organization identifier>:<token>"); no colon found');
  const identifier = decoded.slice(0, colon);
  const token = decoded.slice(colon + 1);
  const bad = checkToken(token);
  if (bad) return bad;
  return identifier === "" ? { ok: true, token } : { ok: true, token, orgIdentifier: identifier };
}

/** Whether s[from..] is non-empty and all printable ASCII without spaces: one pass, no regex. */
function isWord(s: string, from: number): boolean {
  if (s.length <= from) return false;
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

export function parseCredential(raw: string): ParsedCredential {
  if (typeof raw !== "string" || raw.length === 0) return fail("the credential is empty");
  if (raw.length > MAX_CREDENTIAL_LENGTH) {
    return fail(`the credential is longer than ${MAX_CREDENTIAL_LENGTH} characters`);
  }
  // The two forms Verify sees on every call, "Bearer <token>" and a bare token, decided in one
  // pass; the general parser below gives the same answer for them, only slower.
  if (raw.startsWith("Bearer ") && isWord(raw, 7)) return { ok: true, token: raw.slice(7) };
  if (isWord(raw, 0) && !SCHEMES.has(raw.toLowerCase())) return { ok: true, token: raw };
  if (CONTROL_RE.test(raw)) return fail("the credential contains control characters (CR, LF, NUL, tab, ...)");
  if (!/^[\x20-\x7e]*$/.test(raw)) return fail("the credential contains non-ASCII characters");

  const value = raw.replace(/^ +| +$/g, "");
  if (value.length === 0) return fail("the credential is empty");
  const space = value.indexOf(" ");
  if (space < 0) {
    if (SCHEMES.has(value.toLowerCase())) return fail(`the "${value}" scheme needs a token after it`);
    return checkToken(value) ?? { ok: true, token: value };
  }

  const scheme = value.slice(0, space);
  const param = value.slice(space + 1).replace(/^ +/, "");
  const lower = scheme.toLowerCase();
  if (!SCHEMES.has(lower)) {
    // Never quoted: whatever the client sent may be a secret of its own.
    return fail("unsupported authorization scheme (use Bearer, Token or Basic)");
  }
  if (param.includes(" ")) return fail(`the ${scheme} credential must be a single word`);
  if (lower === "basic") return parseBasic(param);
  return checkToken(param) ?? { ok: true, token: param };
}

/**
 * For admin calls: the `authorization` value must be present and well-formed, else
 * UNAUTHENTICATED with a message telling the caller what to send.
 */
export function parseAuthorizationHeader(raw: string | undefined): Credential {
  if (raw === undefined || raw.trim() === "") {
    throw unauthenticated('missing credentials: send the header "authorization: Bearer <token>"');
  }
  const parsed = parseCredential(raw);
  if (!parsed.ok) throw unauthenticated(`malformed authorization header: ${parsed.reason}`);
  return parsed.orgIdentifier === undefined ? { token: parsed.token } : { token: parsed.token, orgIdentifier: parsed.orgIdentifier };
}

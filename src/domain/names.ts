// Validators for names and free text supplied by clients. Each throws INVALID_ARGUMENT with a
// message naming the field and the rule, so an admin console or CLI can show it as is. Each
// returns the value unchanged when valid. Lengths count Unicode code points.
//
// Control characters are refused everywhere: they forge log lines, break terminals and CSV
// exports, and bidirectional overrides make a name display as something it is not.

import { invalidArgument } from "./errors.js";

const MAX_TOKEN_NAME_LENGTH = 256;
const MAX_DESCRIPTION_LENGTH = 1024;
const MAX_DISPLAY_NAME_LENGTH = 256;

// C0, DEL, C1, line/paragraph separators, bidi embeddings/overrides/isolates.
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

const codePoints = (s: string): number => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

export function validateTokenName(name: string): string {
  if (typeof name !== "string" || name.length === 0) throw invalidArgument("token name is required");
  if (name.length > MAX_TOKEN_NAME_LENGTH) {
    throw invalidArgument(`token name must be at most ${MAX_TOKEN_NAME_LENGTH} characters (got ${name.length})`);
  }
  if (!/^[A-Za-z0-9_-]+$/.test(name)) {
    throw invalidArgument('token name may contain only letters, digits, "_" and "-" (pattern [A-Za-z0-9_-]{1,256})');
  }
  return name;
}

export type IdentifierField = "organization identifier" | "user name" | "bucket name";

const IDENTIFIER_RULES: Record<IdentifierField, { re: RegExp; max: number; rule: string }> = {
  "organization identifier": {
    re: /^[a-z0-9][a-z0-9_-]{0,62}$/,
    max: 63,
    rule: 'lowercase letters, digits, "_" and "-", starting with a letter or digit (pattern [a-z0-9][a-z0-9_-]{0,62})',
  },
  "bucket name": {
    re: /^[a-z0-9][a-z0-9_-]{0,62}$/,
    max: 63,
    rule: 'lowercase letters, digits, "_" and "-", starting with a letter or digit (pattern [a-z0-9][a-z0-9_-]{0,62})',
  },
  "user name": {
    re: /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/,
    max: 128,
    rule: 'letters, digits, ".", "_", "@" and "-", starting with a letter or digit (pattern [A-Za-z0-9][A-Za-z0-9._@-]{0,127})',
  },
};

/** Organization identifiers, bucket names and user names; `field` picks the rule and names it in messages. */
export function validateIdentifier(field: IdentifierField, value: string): string {
  const rule = IDENTIFIER_RULES[field];
  if (typeof value !== "string" || value.length === 0) throw invalidArgument(`${field} is required`);
  if (value.length > rule.max) {
    throw invalidArgument(`${field} must be at most ${rule.max} characters (got ${value.length})`);
  }
  if (!rule.re.test(value)) throw invalidArgument(`${field} may contain only ${rule.rule}`);
  return value;
}

export const validateOrgIdentifier = (value: string): string => validateIdentifier("organization identifier", value);

/**
 * Whether `value` could name an organization. Verify and authentication take identifiers from
 * clients (the request's organization, the user part of Basic credentials) and send them to the
 * database: anything that no organization can have is refused before it gets there.
 */
export const isOrgIdentifier = (value: string): boolean => IDENTIFIER_RULES["organization identifier"].re.test(value);
export const validateBucketName = (value: string): string => validateIdentifier("bucket name", value);
export const validateUserName = (value: string): string => validateIdentifier("user name", value);

/** Optional free text; empty is allowed. */
export function validateDescription(desc: string): string {
  if (typeof desc !== "string") throw invalidArgument("description must be a string");
  const n = codePoints(desc);
  if (n > MAX_DESCRIPTION_LENGTH) {
    throw invalidArgument(`description must be at most ${MAX_DESCRIPTION_LENGTH} characters (got ${n})`);
  }
  if (CONTROL_RE.test(desc)) {
    throw invalidArgument("description must not contain control characters (newlines, tabs, bidi overrides, ...)");
  }
  return desc;
}

/** Human-readable names (organizations, users): 1..256 characters, no control characters. */
export function validateDisplayName(name: string, field = "display name"): string {
  if (typeof name !== "string" || name.length === 0) throw invalidArgument(`${field} is required`);
  const n = codePoints(name);
  if (n > MAX_DISPLAY_NAME_LENGTH) {
    throw invalidArgument(`${field} must be at most ${MAX_DISPLAY_NAME_LENGTH} characters (got ${n})`);
  }
  if (CONTROL_RE.test(name)) {
    throw invalidArgument(`${field} must not contain control characters (newlines, tabs, bidi overrides, ...)`);
  }
  return name;
}

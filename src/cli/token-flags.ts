/**
 * Turns `tessera auth create` flags into a CreateTokenRequest. Everything that can be judged
 * without the server is judged here, in flag terms ("--read-bucket does not apply to ingestion
 * tokens"), so that a typo costs a usage message and exit 2 rather than a round trip and a reply
 * phrased in protobuf field names. The server still checks everything again.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Role, Signal, TokenKind } from "../gen/tessera/v1/resources_pb.js";
import type { CreateTokenRequestSchema } from "../gen/tessera/v1/token_admin_service_pb.js";
import { MAX_DURATION_MS, parseDurationText, parseRfc3339 } from "../domain/time-text.js";
import { UsageError, list, requireStr, str, type Flags } from "./command.js";

export const KINDS: Readonly<Record<string, TokenKind>> = {
  ingestion: TokenKind.INGESTION,
  operator: TokenKind.OPERATOR,
  "all-access": TokenKind.ALL_ACCESS,
  "read-write": TokenKind.READ_WRITE,
  shared: TokenKind.SHARED,
  verifier: TokenKind.VERIFIER,
};

const SIGNALS: Readonly<Record<string, Signal>> = { logs: Signal.LOGS, metrics: Signal.METRICS, traces: Signal.TRACES };

const ROLES: Readonly<Record<string, Role>> = { viewer: Role.VIEWER, editor: Role.EDITOR, admin: Role.ADMIN };

function oneOf<T>(table: Readonly<Record<string, T>>, raw: string, what: string): T {
  const v = Object.hasOwn(table, raw.toLowerCase()) ? table[raw.toLowerCase()] : undefined;
  if (v === undefined) throw new UsageError(`unknown ${what} "${raw}": use one of ${Object.keys(table).join(", ")}`);
  return v;
}

export const parseKind = (raw: string): TokenKind => oneOf(KINDS, raw, "token kind");
const parseSignal = (raw: string): Signal => oneOf(SIGNALS, raw, "signal");
export const parseRole = (raw: string): Role => oneOf(ROLES, raw, "role");

const LONGEST_EXPIRY = { ms: MAX_DURATION_MS, text: "100 years" };

/** "24h", "90m", "7d", "1h30m": a positive duration in milliseconds, at most `max`; errors name `flag`. */
export function parseDuration(raw: string, flag = "--expires-in", max = LONGEST_EXPIRY): number {
  const d = parseDurationText(raw, max.ms);
  if (d.ok) return d.ms;
  if (d.problem === "zero") throw new UsageError(`${flag} must be longer than zero`);
  if (d.problem === "too-long") throw new UsageError(`${flag} "${raw}" is too long (at most ${max.text})`);
  throw new UsageError(`${flag} "${raw}" is not a duration: use a number and a unit (s, m, h, d, w), e.g. 24h, 90m, 7d or 1h30m`);
}

/** RFC 3339 with an explicit offset, e.g. 2026-12-31T00:00:00Z. */
export function parseExpiry(raw: string, now: number): Date {
  const d = parseRfc3339(raw);
  if (d === undefined) throw new UsageError(`--expires "${raw}" is not an RFC 3339 time: use e.g. 2026-12-31T00:00:00Z`);
  if (d.getTime() <= now) throw new UsageError(`--expires ${raw} is in the past`);
  return d;
}

/** `key=value`; the value may itself contain "=". */
function parseFilter(raw: string): [string, string] {
  const i = raw.indexOf("=");
  if (i <= 0) throw new UsageError(`--filter "${raw}" must look like key=value, e.g. service=checkout`);
  return [raw.slice(0, i), raw.slice(i + 1)];
}

/** Which permission flags each kind accepts; the rest are refused by name. */
const APPLIES: Readonly<Record<string, readonly string[]>> = {
  user: ["operator", "all-access", "read-write"],
  "user-id": ["operator", "all-access", "read-write"],
  signal: ["ingestion"],
  bucket: ["ingestion"],
  "read-bucket": ["read-write"],
  "write-bucket": ["read-write"],
  dashboard: ["shared"],
  filter: ["shared"],
};

/**
 * The request the flags describe, but for the organization and the owner: `--org` and `--user`
 * take identifiers and names, which only the server can turn into ids (see auth.ts).
 */
export function createTokenRequest(flags: Flags, now: number): MessageInitShape<typeof CreateTokenRequestSchema> {
  const name = requireStr(flags, "name");
  const kindText = requireStr(flags, "kind").toLowerCase();
  const kind = parseKind(kindText);
  for (const [flag, kinds] of Object.entries(APPLIES)) {
    const given = flag === "user" || flag === "user-id" ? str(flags, flag) !== undefined : list(flags, flag).length > 0;
    if (given && !kinds.includes(kindText)) {
      throw new UsageError(`--${flag} does not apply to ${kindText} tokens (only to ${kinds.join(", ")})`);
    }
  }

  const expires = str(flags, "expires");
  const expiresIn = str(flags, "expires-in");
  if (expires !== undefined && expiresIn !== undefined) throw new UsageError("give either --expires or --expires-in, not both");
  if (str(flags, "user") !== undefined && str(flags, "user-id") !== undefined) {
    throw new UsageError("give either --user or --user-id (its older name), not both");
  }
  const expireAt =
    expires !== undefined ? parseExpiry(expires, now) : expiresIn !== undefined ? new Date(now + parseDuration(expiresIn)) : undefined;

  const read = new Set(list(flags, "read-bucket"));
  const write = new Set(list(flags, "write-bucket"));
  const bucketAccess = [...new Set([...read, ...write])].map((bucket) => ({ bucket, read: read.has(bucket), write: write.has(bucket) }));
  const dashboards = list(flags, "dashboard");
  if (kind === TokenKind.READ_WRITE && bucketAccess.length === 0) {
    throw new UsageError("read-write tokens need at least one --read-bucket or --write-bucket");
  }
  if (kind === TokenKind.SHARED) {
    if (dashboards.length === 0) throw new UsageError("shared tokens need at least one --dashboard");
    if (expireAt === undefined) throw new UsageError("shared tokens need an expiry: --expires or --expires-in");
  }

  return {
    name,
    kind,
    description: str(flags, "description") ?? "",
    permissions: {
      signals: list(flags, "signal").map(parseSignal),
      buckets: list(flags, "bucket"),
      bucketAccess,
      dashboards,
      filters: Object.fromEntries(list(flags, "filter").map(parseFilter)),
    },
    ...(expireAt === undefined ? {} : { expireTime: timestampFromDate(expireAt) }),
  };
}

/**
 * An organization's token policies: a maximum lifetime for new tokens and an idle limit after
 * which the server disables a token (OpenObserve #14498, Grafana #55233 ask for both).
 *
 * Lifetimes are bounded from a token's creation, so no update can stretch a token past it. The
 * idle limit must be longer than the last-used precision: a token in constant use has its stored
 * last-used time moved forward only once per precision period, and a limit shorter than that
 * would disable tokens that are busy.
 */
import { invalidArgument } from "./errors.js";
import type { TokenPolicies } from "./model.js";

/** Ten years: longer limits mean nothing, and keep every figure far inside a double. */
const MAX_POLICY_S = 10 * 365 * 86_400;
const MIN_LIFETIME_S = 60;

/** A policy duration from its protobuf parts; undefined when unset. Whole seconds only. */
export function policySeconds(field: string, d: { seconds: bigint; nanos: number } | undefined, minSeconds: number): number | null {
  if (d === undefined) return null;
  if (d.nanos !== 0) throw invalidArgument(`${field} must be a whole number of seconds`);
  if (d.seconds < BigInt(minSeconds) || d.seconds > BigInt(MAX_POLICY_S)) {
    throw invalidArgument(`${field} must be between ${describeSeconds(minSeconds)} and ${describeSeconds(MAX_POLICY_S)}`);
  }
  return Number(d.seconds);
}

/**
 * Both policies from a request (their fields named with `prefix`, e.g. "organization."), with the
 * idle limit's floor set by the last-used precision.
 */
export function parsePolicies(
  req: { maxTokenLifetime?: { seconds: bigint; nanos: number }; tokenIdleLimit?: { seconds: bigint; nanos: number } },
  lastUsedPrecisionMs: number,
  prefix = "",
): TokenPolicies {
  const idleFloor = Math.max(MIN_LIFETIME_S, Math.ceil((2 * lastUsedPrecisionMs) / 1000));
  return {
    maxTokenLifetimeS: policySeconds(`${prefix}max_token_lifetime`, req.maxTokenLifetime, MIN_LIFETIME_S),
    tokenIdleLimitS: policySeconds(`${prefix}token_idle_limit`, req.tokenIdleLimit, idleFloor),
  };
}

/**
 * The expiry a token created at `createdAt` (ms) may have under `policy`. A token without an
 * expiry is refused where a lifetime applies, except the organization's `default` token, which
 * the server creates itself and which gets the longest lifetime allowed.
 */
export function boundedExpiry(policy: TokenPolicies, expiresAt: Date | null, createdAt: number, isDefault: boolean): Date | null {
  const max = policy.maxTokenLifetimeS;
  if (max === null) return expiresAt;
  const limit = createdAt + max * 1000;
  if (expiresAt === null) {
    if (isDefault) return new Date(limit);
    throw invalidArgument(`this organization's tokens must expire within ${describeSeconds(max)} of their creation: set expire_time`);
  }
  if (expiresAt.getTime() > limit) {
    throw invalidArgument(`expire_time is beyond this organization's maximum token lifetime (${describeSeconds(max)})`);
  }
  return expiresAt;
}

/** `90d`, `12h`, `30m`, `45s`, or a combination such as `1d12h`: how limits read in messages. */
export function describeSeconds(s: number): string {
  const parts: string[] = [];
  let rest = s;
  for (const [unit, size] of [
    ["d", 86_400],
    ["h", 3600],
    ["m", 60],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest > 0 || parts.length === 0) parts.push(`${rest}s`);
  return parts.join("");
}

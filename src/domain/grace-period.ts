// A rotation's grace period: how long the old value keeps working next to the new one.
//
// Bounded at 7 days so that a forgotten rotation cannot leave a second live value around for
// long, and judged from the protobuf Duration's own parts: `seconds` is a 64-bit integer a client
// may set to anything, and `nanos` must lie in 0..999,999,999 and share the sign of `seconds`.

import { invalidArgument } from "./errors.js";

const MAX_GRACE_SECONDS = 7n * 86_400n;

const refuse = () =>
  invalidArgument("grace_period must be from 0 to 7 days (seconds 0 to 604800, nanos 0 to 999999999, and 0 nanos at 604800 seconds)");

/**
 * The grace period in whole milliseconds, rounded up (a grace period of 1 ns keeps the old value
 * for 1 ms, not for nothing); 0 for none. INVALID_ARGUMENT naming the field when out of range.
 */
export function gracePeriodMs(seconds: bigint, nanos: number): number {
  if (seconds < 0n || seconds > MAX_GRACE_SECONDS) throw refuse();
  if (!Number.isInteger(nanos) || nanos < 0 || nanos > 999_999_999) throw refuse();
  if (seconds === MAX_GRACE_SECONDS && nanos > 0) throw refuse();
  return Number(seconds) * 1000 + Math.ceil(nanos / 1_000_000);
}

/**
 * A rotation's grace period from its protobuf Duration parts: 0 to 7 days, in whole milliseconds
 * rounded up, anything else INVALID_ARGUMENT naming the field.
 */
import assert from "node:assert/strict";
import { TesseraError } from "../../src/domain/errors.js";
import { gracePeriodMs } from "../../src/domain/grace-period.js";

describe("grace periods", () => {
  it("turns 0 to 7 days into milliseconds, rounding a part of one up", () => {
    assert.equal(gracePeriodMs(0n, 0), 0);
    assert.equal(gracePeriodMs(0n, 1), 1, "a nanosecond keeps the old value for a millisecond, not for nothing");
    assert.equal(gracePeriodMs(1n, 500_000_000), 1500);
    assert.equal(gracePeriodMs(604_799n, 999_999_999), 604_800_000);
    assert.equal(gracePeriodMs(604_800n, 0), 604_800_000);
  });

  it("refuses negative, too long, huge and malformed durations with INVALID_ARGUMENT naming grace_period", () => {
    for (const [seconds, nanos] of [
      [-1n, 0],
      [0n, -1],
      [-1n, -1],
      [1n, -1],
      [604_800n, 1],
      [604_801n, 0],
      [2n ** 63n - 1n, 0],
      [-(2n ** 63n), 0],
      [0n, 1_000_000_000],
      [0n, 2 ** 31 - 1],
      [0n, 0.5],
      [0n, Number.NaN],
    ] as const) {
      assert.throws(
        () => gracePeriodMs(seconds, nanos),
        (e: unknown) => e instanceof TesseraError && e.code === "INVALID_ARGUMENT" && e.publicMessage.startsWith("grace_period "),
        `${seconds} s ${nanos} ns`,
      );
    }
  });
});

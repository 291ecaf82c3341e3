import assert from "node:assert/strict";
import { TesseraError } from "../../src/domain/errors.js";
import { boundedExpiry, describeSeconds, parsePolicies, policySeconds } from "../../src/domain/token-policy.js";

const DAY_MS = 86_400_000;
const invalid = (f: () => unknown, message: RegExp) =>
  assert.throws(f, (e: unknown) => e instanceof TesseraError && e.code === "INVALID_ARGUMENT" && message.test(e.message));

describe("token policies (pure)", () => {
  it("describes limits the way messages show them", () => {
    assert.equal(describeSeconds(60), "1m");
    assert.equal(describeSeconds(7200), "2h");
    assert.equal(describeSeconds(30 * 86_400), "30d");
    assert.equal(describeSeconds(86_400 + 12 * 3600 + 5), "1d12h5s");
    assert.equal(describeSeconds(0), "0s");
  });

  it("reads a policy duration as whole seconds within its bounds", () => {
    assert.equal(policySeconds("f", undefined, 60), null);
    assert.equal(policySeconds("f", { seconds: 3600n, nanos: 0 }, 60), 3600);
    invalid(() => policySeconds("f", { seconds: 59n, nanos: 0 }, 60), /^f must be between 1m and 3650d$/);
    invalid(() => policySeconds("f", { seconds: 3651n * 86_400n, nanos: 0 }, 60), /^f must be between/);
    invalid(() => policySeconds("f", { seconds: -1n, nanos: 0 }, 60), /^f must be between/);
    invalid(() => policySeconds("f", { seconds: 3600n, nanos: 1 }, 60), /^f must be a whole number of seconds$/);
  });

  it("puts the idle limit's floor at twice the last-used precision", () => {
    const hour = { seconds: 3600n, nanos: 0 };
    invalid(() => parsePolicies({ tokenIdleLimit: hour }, 3_600_000), /token_idle_limit must be between 2h and/);
    assert.deepEqual(parsePolicies({ tokenIdleLimit: hour }, 60_000), { maxTokenLifetimeS: null, tokenIdleLimitS: 3600 });
  });

  it("bounds an expiry by the lifetime from creation, and gives the default token the whole lifetime", () => {
    const created = Date.UTC(2026, 0, 1);
    const policy = { maxTokenLifetimeS: 7 * 86_400, tokenIdleLimitS: null };
    const within = new Date(created + 7 * DAY_MS);
    assert.equal(boundedExpiry(policy, within, created, false), within, "exactly at the limit is allowed");
    invalid(() => boundedExpiry(policy, new Date(created + 7 * DAY_MS + 1), created, false), /beyond .* \(7d\)/);
    invalid(() => boundedExpiry(policy, null, created, false), /must expire within 7d/);
    assert.equal(boundedExpiry(policy, null, created, true)?.getTime(), created + 7 * DAY_MS);
    assert.equal(boundedExpiry({ maxTokenLifetimeS: null, tokenIdleLimitS: null }, null, created, false), null, "no policy, no bound");
  });
});

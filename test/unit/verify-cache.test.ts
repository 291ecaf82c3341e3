/**
 * The server's Verify cache as a data structure: eviction by feed events through the token index
 * (one key or several per token), expiry, the fill race guard, the size bound and negative entries,
 * and a previous value's lookup never outliving its rotation deadline.
 */
import assert from "node:assert/strict";
import type { TokenLookup } from "../../src/domain/model.js";
import { VerifyCache } from "../../src/services/verify-cache.js";

function lookup(tokenId: string, previousUntil: Date | null = null): TokenLookup {
  return {
    tokenId,
    orgId: "org",
    orgIdentifier: "acme",
    orgEnabled: true,
    name: tokenId,
    kind: "INGESTION",
    keyId: 1,
    enabled: true,
    expiresAt: null,
    permissions: {},
    ownerUserId: null,
    ownerLive: false,
    ownerRoot: false,
    ownerRole: null,
    targetOrgId: null,
    targetIdentifier: null,
    targetEnabled: null,
    targetReachable: false,
    lastUsedMinute: null,
    previousUntil,
  };
}

describe("Verify cache", () => {
  let now = 0;
  const make = (maxEntries = 100) => new VerifyCache({ maxEntries, negativeTtlMs: 1_000, positiveTtlMs: 10_000, now: () => now });
  beforeEach(() => {
    now = 1_000_000;
  });

  it("an event evicts a token cached under one key, or under several target identifiers, and nothing else", () => {
    const c = make();
    c.set("a", lookup("A"), c.generation);
    c.set("b\u0000acme", lookup("B"), c.generation);
    c.set("b\u0000other", lookup("B"), c.generation);
    c.set("b", lookup("B"), c.generation);
    assert.equal(c.size, 4);
    c.apply([{ tokenId: "B", reason: "DISABLED" }]);
    assert.equal(c.get("b"), undefined);
    assert.equal(c.get("b\u0000acme"), undefined);
    assert.equal(c.get("b\u0000other"), undefined);
    assert.equal(c.get("a")?.value?.tokenId, "A");
    c.apply([{ tokenId: "A", reason: "DELETED" }]);
    assert.equal(c.size, 0);
  });

  it("keeps the token index right when one of a token's keys expires or is refilled", () => {
    const c = make();
    c.set("k1", lookup("T"), c.generation);
    now += 5_000;
    c.set("k2", lookup("T"), c.generation);
    c.set("k2", lookup("T"), c.generation); // a refill of the same key
    now += 6_000; // k1 is past its 10 s, k2 is not
    assert.equal(c.get("k1"), undefined, "expired");
    assert.ok(c.get("k2") !== undefined);
    c.apply([{ tokenId: "T", reason: "ROTATED" }]);
    assert.equal(c.get("k2"), undefined, "the event still finds the remaining key");
    assert.equal(c.size, 0);
  });

  it("keeps a previous value's lookup until its rotation deadline at most, the current value's for the whole TTL", () => {
    const c = make();
    c.set("old", lookup("T", new Date(now + 3_000)), c.generation);
    c.set("new", lookup("T"), c.generation);
    now += 2_999;
    assert.ok(c.get("old") !== undefined, "before the deadline");
    now += 1;
    assert.equal(c.get("old"), undefined, "at the deadline, with no event");
    assert.equal(c.get("new")?.value?.tokenId, "T", "the current value stays cached");
    now += 6_999;
    assert.ok(c.get("new") !== undefined);
    now += 1;
    assert.equal(c.get("new"), undefined, "the current value at its TTL");
  });

  it("drops a fill whose lookup began before an event of its token, and only then", () => {
    const c = make();
    const before = c.generation;
    c.apply([{ tokenId: "X", reason: "DISABLED" }]);
    c.set("x", lookup("X"), before);
    assert.equal(c.get("x"), undefined, "a fill that raced an event of its token is not kept");
    c.set("y", lookup("Y"), before);
    assert.equal(c.get("y")?.value?.tokenId, "Y", "an event of another token does not cost this fill");
    const long = c.generation;
    for (let i = 0; i < 300; i++) c.apply([{ tokenId: `other-${i}`, reason: "DISABLED" }]);
    c.set("z", lookup("Z"), long);
    assert.equal(c.get("z"), undefined, "past what the cache remembers, a raced fill is dropped to be safe");
  });

  it("keeps negative answers through other events, and drops them at ENABLED: a token with a brought value makes a missing digest appear", () => {
    const c = make();
    c.set("missing", undefined, c.generation);
    c.apply([{ tokenId: "Y", reason: "DISABLED" }]);
    assert.equal(c.get("missing")?.value, undefined);
    assert.ok(c.get("missing") !== undefined, "a DISABLED event leaves negative answers alone");
    const raced = c.generation;
    c.apply([{ tokenId: "Y", reason: "ENABLED" }]);
    assert.equal(c.get("missing"), undefined, "an ENABLED event voids the negative answers stored before it");
    c.set("raced", undefined, raced);
    assert.equal(c.get("raced"), undefined, "a negative lookup that began before the ENABLED event is not stored");
    c.set("after", undefined, c.generation);
    assert.ok(c.get("after") !== undefined, "a negative lookup begun after it is");
  });

  it("drops a derived value only for events of the token it came from", () => {
    const c = make();
    c.setDerived("caller-a", "A's caller", "A", c.generation, Infinity);
    c.setDerived("caller-b", "B's caller", "B", c.generation, Infinity);
    c.apply([{ tokenId: "B", reason: "DISABLED" }]);
    assert.equal(c.getDerived("caller-a"), "A's caller");
    assert.equal(c.getDerived("caller-b"), undefined);
    const before = c.generation;
    c.apply([{ tokenId: "A", reason: "OWNER_REMOVED" }]);
    c.setDerived("caller-a", "A's stale caller", "A", before, Infinity);
    assert.equal(c.getDerived("caller-a"), undefined, "a derived fill that raced its token's event is not kept");
  });

  it("holds at most maxEntries, evicting the oldest fill", () => {
    const c = make(3);
    for (const k of ["1", "2", "3", "4"]) c.set(k, lookup(`T${k}`), c.generation);
    assert.equal(c.size, 3);
    assert.equal(c.get("1"), undefined);
    assert.ok(c.get("4") !== undefined);
    c.apply([{ tokenId: "T1", reason: "DELETED" }]); // its entry is gone already: nothing to do, nothing breaks
    c.apply([{ tokenId: "T2", reason: "DELETED" }]);
    assert.equal(c.size, 2);
  });
});

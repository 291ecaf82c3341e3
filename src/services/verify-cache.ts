/**
 * The server-side Verify cache: what the store said about a digest (found or not), bounded in
 * size, evicted by the revocation feed. Keys are keyed digests, never token values.
 *
 * Every eviction is targeted: an event evicts its token and nothing else, so no organization's
 * admin changes, however many, cost another organization's cached answers anything.
 *
 * Fill race: a lookup that started before an event but finishes after it could cache the state
 * the event just revoked. Each fill therefore carries the feed generation seen when its lookup
 * began, and is dropped if an event for the same token arrived in between (or if so many event
 * batches arrived that the cache no longer remembers which tokens they named).
 *
 * Negative answers end at any ENABLED event: a token created with a value the caller brought
 * (CreateToken's `value`) makes a digest appear that was asked about, and found missing, before.
 */
import type { TokenLookup } from "../domain/model.js";

interface Entry {
  value: TokenLookup | undefined;
  expiresAt: number;
  /** The generation it was stored at: a negative entry older than the last ENABLED batch is void. */
  generation: number;
}

interface DerivedEntry {
  value: unknown;
  /** The token the value was derived from: its events drop it. */
  tokenId: string;
  expiresAt: number;
}

/** At most this many derived values (authenticated callers: a handful of verifier tokens). */
const MAX_DERIVED = 1024;
/** Event batches remembered for the fill race; a fill that began before all of them is dropped. */
const RECENT_BATCHES = 256;

export interface VerifyCacheOptions {
  maxEntries: number;
  /** Negative answers (no such digest) live at most this long. */
  negativeTtlMs: number;
  /** Positive answers are re-read at least this often, as a bound on any missed invalidation. */
  positiveTtlMs: number;
  now: () => number;
}

export function createVerifyCache(opts: VerifyCacheOptions): VerifyCache {
  return new VerifyCache(opts);
}

export class VerifyCache {
  readonly #opts: VerifyCacheOptions;
  readonly #entries = new Map<string, Entry>();
  /** Token id to its entry's key, or keys (one per target identifier asked): a Set only when there are several. */
  readonly #byToken = new Map<string, string | Set<string>>();
  /**
   * Organization id to the keys of entries that target it from another organization (a parent's
   * token asked about a sub-organization): disabling the target announces the target's own
   * tokens, not these, so they are found here. Rare; most lookups target their own organization.
   */
  readonly #byForeignTarget = new Map<string, Set<string>>();
  readonly #derived = new Map<string, DerivedEntry>();
  #generation = 0;
  /** The generation of the last event batch with an ENABLED event in it. */
  #enabledAt = 0;
  /** The token ids of the last RECENT_BATCHES event batches; batch g is at g % RECENT_BATCHES. */
  readonly #recent: Array<ReadonlySet<string>> = [];
  hits = 0;
  misses = 0;

  constructor(opts: VerifyCacheOptions) {
    this.#opts = opts;
  }

  get generation(): number {
    return this.#generation;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The cached lookup: undefined = not cached; { value: undefined } = known absent. */
  get(key: string): { value: TokenLookup | undefined } | undefined {
    const e = this.#entries.get(key);
    if (e === undefined || e.expiresAt <= this.#opts.now() || (e.value === undefined && e.generation < this.#enabledAt)) {
      if (e !== undefined) this.#delete(key, e);
      this.misses++;
      return undefined;
    }
    this.hits++;
    return e;
  }

  set(key: string, value: TokenLookup | undefined, generationAtStart: number): void {
    // A missing digest appears only with a new token (ENABLED); a present one changes with its token's events.
    if (value === undefined ? generationAtStart < this.#enabledAt : this.#changedSince(value.tokenId, generationAtStart)) return;
    const old = this.#entries.get(key);
    if (old !== undefined) this.#delete(key, old);
    if (this.#entries.size >= this.#opts.maxEntries) this.#evictOldest();
    const ttl = value === undefined ? this.#opts.negativeTtlMs : this.#opts.positiveTtlMs;
    let expiresAt = this.#opts.now() + ttl;
    // A previous value's lookup never outlives its deadline, announced or not.
    if (value !== undefined && value.previousUntil !== null) expiresAt = Math.min(expiresAt, value.previousUntil.getTime());
    this.#entries.set(key, { value, expiresAt, generation: this.#generation });
    if (value !== undefined) {
      const keys = this.#byToken.get(value.tokenId);
      if (keys === undefined || keys === key) this.#byToken.set(value.tokenId, key);
      else if (typeof keys === "string") this.#byToken.set(value.tokenId, new Set([keys, key]));
      else keys.add(key);
      const target = foreignTarget(value);
      if (target !== undefined) {
        const set = this.#byForeignTarget.get(target);
        if (set === undefined) this.#byForeignTarget.set(target, new Set([key]));
        else set.add(key);
      }
    }
  }

  /**
   * A value derived from a cached lookup (the Caller an authorization value resolves to), under a
   * keyed digest of what it was derived from. It answers until an event names its token, until
   * `notAfter`, or for the positive TTL.
   */
  getDerived(key: string): unknown {
    const e = this.#derived.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAt <= this.#opts.now()) {
      this.#derived.delete(key);
      return undefined;
    }
    return e.value;
  }

  setDerived(key: string, value: unknown, tokenId: string, generationAtStart: number, notAfter: number): void {
    if (this.#changedSince(tokenId, generationAtStart)) return;
    this.#derived.delete(key);
    if (this.#derived.size >= MAX_DERIVED) {
      const first = this.#derived.keys().next();
      if (!first.done) this.#derived.delete(first.value);
    }
    this.#derived.set(key, { value, tokenId, expiresAt: Math.min(notAfter, this.#opts.now() + this.#opts.positiveTtlMs) });
  }

  /**
   * Applies feed events: evicts each named token, its lookups and what was derived from them; an
   * organization's being disabled or enabled also evicts other organizations' lookups aimed at it.
   * A sub-organization turning its parent access off (or on) announces the tokens that lose (or
   * regain) their reach into it, PARENT_ACCESS_REVOKED (or ENABLED), so their lookups aimed at it
   * go with the rest of theirs; UPDATED (a changed expiry, a bucket gone) is a plain eviction too.
   */
  apply(events: ReadonlyArray<{ orgId?: string; tokenId: string; reason: string }>): void {
    const ids = new Set<string>();
    let lastOrg: string | undefined;
    let enabled = false;
    for (const e of events) {
      ids.add(e.tokenId);
      if (e.reason === "ENABLED") enabled = true;
      const keys = this.#byToken.get(e.tokenId);
      if (typeof keys === "string") this.#remove(keys);
      else if (keys !== undefined) for (const k of [...keys]) this.#remove(k);
      if ((e.reason === "ORG_DISABLED" || e.reason === "ENABLED") && e.orgId !== undefined && e.orgId !== lastOrg) {
        // An organization's change comes as one event per token of it: look once per run of them.
        // (A single token's ENABLED looks the same from here; it only costs its organization's
        // cross-organization lookups a refill.)
        lastOrg = e.orgId;
        const aimed = this.#byForeignTarget.get(e.orgId);
        if (aimed !== undefined) for (const k of [...aimed]) this.#remove(k);
      }
    }
    if (this.#derived.size > 0) for (const [k, d] of this.#derived) if (ids.has(d.tokenId)) this.#derived.delete(k);
    this.#generation++;
    if (enabled) this.#enabledAt = this.#generation;
    this.#recent[this.#generation % RECENT_BATCHES] = ids;
  }

  /** Drops everything; fills begun before this are dropped too. */
  clear(): void {
    this.#entries.clear();
    this.#byToken.clear();
    this.#byForeignTarget.clear();
    this.#derived.clear();
    this.#generation += RECENT_BATCHES;
  }

  /** Whether an event batch since `generation` named `tokenId` (true when too many to tell). */
  #changedSince(tokenId: string, generation: number): boolean {
    if (generation === this.#generation) return false;
    if (this.#generation - generation >= RECENT_BATCHES) return true;
    for (let g = generation + 1; g <= this.#generation; g++) if (this.#recent[g % RECENT_BATCHES]!.has(tokenId)) return true;
    return false;
  }

  #remove(key: string): void {
    const e = this.#entries.get(key);
    if (e !== undefined) this.#delete(key, e);
  }

  #delete(key: string, e: Entry): void {
    this.#entries.delete(key);
    if (e.value !== undefined) {
      const id = e.value.tokenId;
      const keys = this.#byToken.get(id);
      if (keys === key) this.#byToken.delete(id);
      else if (typeof keys === "object") {
        keys.delete(key);
        if (keys.size === 0) this.#byToken.delete(id);
      }
      const target = foreignTarget(e.value);
      const aimed = target === undefined ? undefined : this.#byForeignTarget.get(target);
      if (aimed !== undefined) {
        aimed.delete(key);
        if (aimed.size === 0) this.#byForeignTarget.delete(target!);
      }
    }
  }

  #evictOldest(): void {
    // Map iteration order is insertion order: the first key is the oldest fill.
    const first = this.#entries.keys().next();
    if (!first.done) this.#delete(first.value, this.#entries.get(first.value)!);
  }
}

/** The organization a lookup was asked about, when it is not the token's own. */
function foreignTarget(t: TokenLookup): string | undefined {
  return t.targetOrgId !== null && t.targetOrgId !== t.orgId ? t.targetOrgId : undefined;
}

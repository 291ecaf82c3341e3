/**
 * The server-side Verify cache: what the store said about a digest (found or not), bounded in
 * size, evicted by the revocation feed. Keys are keyed digests, never token values.
 *
 * Fill race: a lookup that started before an event but finishes after it could cache the state
 * the event just revoked. Each fill therefore carries the feed generation seen when its lookup
 * began, and is dropped if any event arrived in between.
 */
import type { TokenLookup } from "../domain/model.js";

interface Entry {
  value: TokenLookup | undefined;
  expiresAt: number;
}

interface DerivedEntry {
  value: unknown;
  generation: number;
  expiresAt: number;
}

/** At most this many derived values (authenticated callers: a handful of verifier tokens). */
const MAX_DERIVED = 1024;

export interface VerifyCacheOptions {
  maxEntries: number;
  /** Negative answers (no such digest) live at most this long. */
  negativeTtlMs: number;
  /** Positive answers are re-read at least this often, as a bound on any missed invalidation. */
  positiveTtlMs: number;
  now: () => number;
}

export class VerifyCache {
  readonly #opts: VerifyCacheOptions;
  readonly #entries = new Map<string, Entry>();
  /** Token id to its entry's key, or keys (one per target identifier asked): a Set only when there are several. */
  readonly #byToken = new Map<string, string | Set<string>>();
  readonly #derived = new Map<string, DerivedEntry>();
  #generation = 0;
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
    if (e === undefined || e.expiresAt <= this.#opts.now()) {
      if (e !== undefined) this.#delete(key, e);
      this.misses++;
      return undefined;
    }
    this.hits++;
    return e;
  }

  set(key: string, value: TokenLookup | undefined, generationAtStart: number): void {
    if (generationAtStart !== this.#generation) return;
    const old = this.#entries.get(key);
    if (old !== undefined) this.#delete(key, old);
    if (this.#entries.size >= this.#opts.maxEntries) this.#evictOldest();
    const ttl = value === undefined ? this.#opts.negativeTtlMs : this.#opts.positiveTtlMs;
    this.#entries.set(key, { value, expiresAt: this.#opts.now() + ttl });
    if (value !== undefined) {
      const keys = this.#byToken.get(value.tokenId);
      if (keys === undefined || keys === key) this.#byToken.set(value.tokenId, key);
      else if (typeof keys === "string") this.#byToken.set(value.tokenId, new Set([keys, key]));
      else keys.add(key);
    }
  }

  /**
   * A value derived from cached lookups (the Caller an authorization value resolves to), under a
   * keyed digest of what it was derived from. It answers only while no feed event or flush came
   * after the fill began (any event drops them all) and until `notAfter` or the positive TTL.
   */
  getDerived(key: string): unknown {
    const e = this.#derived.get(key);
    if (e === undefined) return undefined;
    if (e.generation !== this.#generation || e.expiresAt <= this.#opts.now()) {
      this.#derived.delete(key);
      return undefined;
    }
    return e.value;
  }

  setDerived(key: string, value: unknown, generationAtStart: number, notAfter: number): void {
    if (generationAtStart !== this.#generation) return;
    this.#derived.delete(key);
    if (this.#derived.size >= MAX_DERIVED) {
      const first = this.#derived.keys().next();
      if (!first.done) this.#derived.delete(first.value);
    }
    this.#derived.set(key, { value, generation: generationAtStart, expiresAt: Math.min(notAfter, this.#opts.now() + this.#opts.positiveTtlMs) });
  }

  /** Applies feed events: evict each token; ENABLED also drops every negative entry. */
  apply(events: ReadonlyArray<{ tokenId: string; reason: string }>): void {
    this.#generation++;
    this.#derived.clear();
    let dropNegatives = false;
    for (const e of events) {
      const keys = this.#byToken.get(e.tokenId);
      if (typeof keys === "string") this.#entries.delete(keys);
      else if (keys !== undefined) for (const k of keys) this.#entries.delete(k);
      this.#byToken.delete(e.tokenId);
      if (e.reason === "ENABLED") dropNegatives = true;
    }
    if (dropNegatives) {
      for (const [k, e] of this.#entries) if (e.value === undefined) this.#entries.delete(k);
    }
  }

  clear(): void {
    this.#generation++;
    this.#derived.clear();
    this.#entries.clear();
    this.#byToken.clear();
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
    }
  }

  #evictOldest(): void {
    // Map iteration order is insertion order: the first key is the oldest fill.
    const first = this.#entries.keys().next();
    if (!first.done) this.#delete(first.value, this.#entries.get(first.value)!);
  }
}

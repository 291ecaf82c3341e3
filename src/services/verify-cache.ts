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
  readonly #byToken = new Map<string, Set<string>>();
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
      let keys = this.#byToken.get(value.tokenId);
      if (keys === undefined) this.#byToken.set(value.tokenId, (keys = new Set()));
      keys.add(key);
    }
  }

  /** Applies feed events: evict each token; ENABLED also drops every negative entry. */
  apply(events: ReadonlyArray<{ tokenId: string; reason: string }>): void {
    this.#generation++;
    let dropNegatives = false;
    for (const e of events) {
      const keys = this.#byToken.get(e.tokenId);
      if (keys !== undefined) {
        for (const k of keys) this.#entries.delete(k);
        this.#byToken.delete(e.tokenId);
      }
      if (e.reason === "ENABLED") dropNegatives = true;
    }
    if (dropNegatives) {
      for (const [k, e] of this.#entries) if (e.value === undefined) this.#entries.delete(k);
    }
  }

  clear(): void {
    this.#generation++;
    this.#entries.clear();
    this.#byToken.clear();
  }

  #delete(key: string, e: Entry): void {
    this.#entries.delete(key);
    if (e.value !== undefined) {
      const keys = this.#byToken.get(e.value.tokenId);
      keys?.delete(key);
      if (keys?.size === 0) this.#byToken.delete(e.value.tokenId);
    }
  }

  #evictOldest(): void {
    // Map iteration order is insertion order: the first key is the oldest fill.
    const first = this.#entries.keys().next();
    if (!first.done) this.#delete(first.value, this.#entries.get(first.value)!);
  }
}

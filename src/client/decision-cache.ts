/**
 * The worker client's cache of Verify decisions.
 *
 * Two bounded maps keyed by a digest of the whole request: one for allowed answers and one for
 * refused ones, so that a spray of bad credentials can push out only other refusals, never the
 * answers a worker serves its real traffic from. An index from token id to keys lets a revocation
 * event evict every answer about that token.
 *
 * Bounds are "LRU-ish": Map insertion order is the age; a hit moves an entry to the young end only
 * when it has drifted into the older half, so the hot path rarely writes to the map.
 */

export interface CacheEntry<D> {
  readonly key: string;
  /** Set for every answer that names a token; answers without one are never allowed ones. */
  readonly tokenId: string | undefined;
  readonly negative: boolean;
  /** Whether the answer is about a token's previous value (a rotation's grace period). */
  readonly previousValue: boolean;
  /** Epoch ms at or after which the entry must not be served (expiry, negative TTL, cache TTL). */
  readonly validUntil: number;
  /** What a hit returns: an already-resolved promise, so a hit allocates nothing. */
  readonly hit: Promise<D>;
  seq: number;
}

export interface CacheCounters {
  /** Entries removed because an event named their token, or because all refusals were dropped. */
  evictions: number;
  /** Entries removed to stay within the bounds. */
  lruEvictions: number;
  /** Entries removed because they were past their expiry or TTL when looked up. */
  expirations: number;
}

class Bounded<D> {
  readonly map = new Map<string, CacheEntry<D>>();
  #seq = 0;
  readonly #refreshAfter: number;
  constructor(readonly max: number) {
    this.#refreshAfter = Math.max(1, Math.floor(max / 2));
  }
  touch(e: CacheEntry<D>): void {
    if (this.#seq - e.seq > this.#refreshAfter) {
      this.map.delete(e.key);
      this.map.set(e.key, e);
      e.seq = ++this.#seq;
    }
  }
  insert(e: CacheEntry<D>): void {
    e.seq = ++this.#seq;
    this.map.set(e.key, e);
  }
  oldest(): CacheEntry<D> | undefined {
    for (const e of this.map.values()) return e;
    return undefined;
  }
}

export class DecisionCache<D> {
  readonly #pos: Bounded<D>;
  readonly #neg: Bounded<D>;
  readonly #byToken = new Map<string, Set<string>>();
  readonly counters: CacheCounters = { evictions: 0, lruEvictions: 0, expirations: 0 };

  constructor(maxEntries: number, maxNegativeEntries: number) {
    this.#pos = new Bounded(Math.max(1, maxEntries));
    this.#neg = new Bounded(Math.max(0, maxNegativeEntries));
  }

  get size(): number {
    return this.#pos.map.size + this.#neg.map.size;
  }

  /** The entry for `key` if it may be served at time `t`; drops it if it may not. */
  get(key: string, t: number): CacheEntry<D> | undefined {
    let e = this.#pos.map.get(key);
    let b = this.#pos;
    if (e === undefined) {
      e = this.#neg.map.get(key);
      if (e === undefined) return undefined;
      b = this.#neg;
    }
    if (t >= e.validUntil) {
      this.#remove(e);
      this.counters.expirations++;
      return undefined;
    }
    b.touch(e);
    return e;
  }

  set(entry: Omit<CacheEntry<D>, "seq">): void {
    const b = entry.negative ? this.#neg : this.#pos;
    if (b.max === 0) return;
    const old = this.#pos.map.get(entry.key) ?? this.#neg.map.get(entry.key);
    if (old !== undefined) this.#remove(old);
    const e: CacheEntry<D> = { ...entry, seq: 0 };
    b.insert(e);
    if (e.tokenId !== undefined) {
      let keys = this.#byToken.get(e.tokenId);
      if (keys === undefined) this.#byToken.set(e.tokenId, (keys = new Set()));
      keys.add(e.key);
    }
    while (b.map.size > b.max) {
      const victim = b.oldest();
      if (victim === undefined) break;
      this.#remove(victim);
      this.counters.lruEvictions++;
    }
  }

  /**
   * Evicts every answer about `tokenId`; returns how many. `replace`, when given, may put a
   * refusal in place of each evicted answer (same key).
   */
  evictToken(tokenId: string, replace?: (old: CacheEntry<D>) => Omit<CacheEntry<D>, "seq"> | undefined): number {
    const keys = this.#byToken.get(tokenId);
    if (keys === undefined) return 0;
    const evicted: CacheEntry<D>[] = [];
    for (const key of [...keys]) {
      const e = this.#pos.map.get(key) ?? this.#neg.map.get(key);
      if (e !== undefined) {
        this.#remove(e);
        evicted.push(e);
      }
    }
    this.#byToken.delete(tokenId);
    this.counters.evictions += evicted.length;
    if (replace !== undefined) {
      for (const e of evicted) {
        const r = replace(e);
        if (r !== undefined) this.set(r);
      }
    }
    return evicted.length;
  }

  /** Drops every refusal (an ENABLED event may have made any of them wrong). */
  dropNegatives(): number {
    const n = this.#neg.map.size;
    for (const e of [...this.#neg.map.values()]) this.#remove(e);
    this.counters.evictions += n;
    return n;
  }

  clear(): number {
    const n = this.size;
    this.#pos.map.clear();
    this.#neg.map.clear();
    this.#byToken.clear();
    return n;
  }

  #remove(e: CacheEntry<D>): void {
    (e.negative ? this.#neg : this.#pos).map.delete(e.key);
    if (e.tokenId === undefined) return;
    const keys = this.#byToken.get(e.tokenId);
    if (keys === undefined) return;
    keys.delete(e.key);
    if (keys.size === 0) this.#byToken.delete(e.tokenId);
  }
}

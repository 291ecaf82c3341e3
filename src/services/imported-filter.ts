/**
 * The imported-value filter: keeps a flood of made-up imported-looking values away from the
 * database.
 *
 * A Tessera token carries a checksum, so Verify refuses a made-up one before any lookup; an
 * imported value carries none, and a negative cache cannot help against distinct random strings.
 * So every instance keeps in memory the first 8 bytes of the digest of every token that holds an
 * imported value (an open-addressing table of 8-byte slots, at most half full: 16 to 32 bytes a
 * token), and a presented value that is not Tessera-format and whose digest under no live key
 * starts with one of them is answered NOT_FOUND without a query. A false positive (a stale entry of a deleted or rotated token, or one
 * chance match in 2^64 per entry) only costs the query that would have happened anyway.
 *
 * Kept up to date like the caches: loaded at start (migration 0012's tessera_imported_prefixes,
 * read after the revocation hub fixed its starting position, so every token committed later is
 * announced by the feed), then from the feed: a new token emits an ENABLED event in the
 * transaction that inserts it, and for the tokens of such events the filter fetches their
 * prefixes by id. The instance that creates a token adds its prefix itself right after the
 * commit, and skips the fetch when the feed brings that token's event back.
 *
 * It may rule a value out only while it is sure: loaded, with no fetch in flight and none failed
 * since the last complete load; the lookup also asks only while the hub is fresh. Otherwise
 * the lookup goes to the database (fail safe: never a wrong NOT_FOUND for a real token).
 *
 * Ids of tokens that do not hold imported values are not kept: that would double the memory per
 * imported token to save a fetch per ENABLED event, and those are rare (a creation, an enable).
 */
import type { Database } from "../store/database.js";
import { importedPrefixesOf, importedPrefixesPage } from "../store/queries/imported-prefixes.js";
import type { Log } from "../log.js";

/** A set of 64-bit values (hi, lo) in one Uint32Array, linear probing; (0, 0) marks an empty slot. */
class PrefixSet {
  #slots: Uint32Array;
  #mask: number;
  size = 0;

  constructor(capacity = 1024) {
    this.#slots = new Uint32Array(capacity * 2);
    this.#mask = capacity - 1;
  }

  has(hi: number, lo: number): boolean {
    if (hi === 0 && lo === 0) lo = 1; // stored so (see add); a rare extra false positive
    const slots = this.#slots;
    for (let i = lo & this.#mask; ; i = (i + 1) & this.#mask) {
      const h = slots[i * 2]!;
      const l = slots[i * 2 + 1]!;
      if (h === hi && l === lo) return true;
      if (h === 0 && l === 0) return false;
    }
  }

  add(hi: number, lo: number): void {
    if (hi === 0 && lo === 0) lo = 1;
    if (this.has(hi, lo)) return;
    if ((this.size + 1) * 2 > this.#mask + 1) this.#grow();
    this.#put(hi, lo);
    this.size++;
  }

  #put(hi: number, lo: number): void {
    const slots = this.#slots;
    let i = lo & this.#mask;
    while (slots[i * 2] !== 0 || slots[i * 2 + 1] !== 0) i = (i + 1) & this.#mask;
    slots[i * 2] = hi;
    slots[i * 2 + 1] = lo;
  }

  #grow(): void {
    const old = this.#slots;
    this.#slots = new Uint32Array(old.length * 2);
    this.#mask = old.length - 1;
    for (let i = 0; i < old.length; i += 2) if (old[i] !== 0 || old[i + 1] !== 0) this.#put(old[i]!, old[i + 1]!);
  }
}

export interface ImportedFilter {
  /**
   * True when no token holds an imported value with one of these digests (`current`: the current
   * key's digest as a latin1 string, `older`: the older keys'), and the filter is sure of it.
   */
  rulesOut(current: string, older: readonly Buffer[]): boolean;
  /**
   * A token this instance just created (after its commit): `digest` when it holds an imported
   * value, undefined when not; either way the feed's echo of its ENABLED event costs no fetch.
   */
  add(tokenId: string, digest: Buffer | undefined): void;
  /** Feed events (the hub's listener): fetches the prefixes of tokens newly announced. */
  apply(events: ReadonlyArray<{ tokenId: string; reason: string }>): void;
  /** Loads every prefix; on failure it stays unsure (lookups go to the database) and retries. */
  load(): Promise<void>;
  /** Whether it may rule values out now. */
  readonly ready: boolean;
  readonly size: number;
  close(): void;
}

const PAGE = 20_000;
const FETCH_CHUNK = 1000;
const RETRY_MS = 1000;
/** Ids this instance added itself, remembered so the feed's echo of their events costs no fetch. */
const LOCAL_IDS = 4096;

export function createImportedFilter(opts: { db: Database; log: Log }): ImportedFilter {
  const { db, log } = opts;
  const set = new PrefixSet();
  const local = new Set<string>();
  let loaded = false;
  let pending = 0;
  /** A fetch failed since the last complete load: some imported token may be missing. */
  let broken = false;
  let loading: Promise<void> | undefined;
  let retry: NodeJS.Timeout | undefined;
  let closed = false;

  const addBuffer = (b: Buffer) => set.add(b.readUInt32BE(0), b.readUInt32BE(4));
  const word = (s: string, at: number) =>
    ((s.charCodeAt(at) << 24) | (s.charCodeAt(at + 1) << 16) | (s.charCodeAt(at + 2) << 8) | s.charCodeAt(at + 3)) >>> 0;

  function scheduleReload(): void {
    if (retry !== undefined || closed) return;
    retry = setTimeout(() => {
      retry = undefined;
      void filter.load();
    }, RETRY_MS);
    retry.unref();
  }

  async function loadAll(): Promise<void> {
    let after = "0";
    for (;;) {
      const page = await importedPrefixesPage(db.pool, after, PAGE);
      for (const p of page.prefixes) addBuffer(p);
      if (page.prefixes.length < PAGE) return;
      after = page.last;
    }
  }

  async function fetch(ids: string[]): Promise<void> {
    pending++;
    try {
      for (let i = 0; i < ids.length; i += FETCH_CHUNK)
        for (const p of await importedPrefixesOf(db.pool, ids.slice(i, i + FETCH_CHUNK))) addBuffer(p);
    } catch (err) {
      if (!broken) log("imported_filter_fetch_failed", { error: String(err) });
      broken = true;
      scheduleReload();
    } finally {
      pending--;
    }
  }

  const filter: ImportedFilter = {
    rulesOut(current, older) {
      if (!loaded || pending > 0 || broken) return false;
      if (set.has(word(current, 0), word(current, 4))) return false;
      for (const d of older) if (set.has(d.readUInt32BE(0), d.readUInt32BE(4))) return false;
      return true;
    },
    add(tokenId, digest) {
      if (digest !== undefined) addBuffer(digest);
      local.add(tokenId);
      if (local.size > LOCAL_IDS) local.delete(local.values().next().value!);
    },
    apply(events) {
      let ids: string[] | undefined;
      for (const e of events) {
        if (e.reason !== "ENABLED" || local.has(e.tokenId)) continue;
        (ids ??= []).push(e.tokenId);
      }
      if (ids !== undefined) void fetch(ids);
    },
    load() {
      loading ??= (async () => {
        // A failure from here on is repaired by this load only if it began after the failure.
        const wasBroken = broken;
        broken = false;
        try {
          await loadAll();
          loaded = true;
          if (wasBroken) log("imported_filter_recovered", { size: set.size });
        } catch (err) {
          log("imported_filter_load_failed", { error: String(err) });
          broken = true;
          scheduleReload();
        } finally {
          loading = undefined;
        }
      })();
      return loading;
    },
    get ready() {
      return loaded && pending === 0 && !broken;
    },
    get size() {
      return set.size;
    },
    close() {
      closed = true;
      if (retry !== undefined) clearTimeout(retry);
    },
  };
  return filter;
}

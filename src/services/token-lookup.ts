/**
 * From a presented token value to the stored facts about it: keyed digest, the Verify cache, and
 * on a miss a format check (cheap, no hashing) and one store round trip with a constant-time
 * re-check of the digest; a token found under an old key is re-digested under the current one.
 * A token's previous value (a rotation's grace period) is found and cached like its current one,
 * under its own digest; the lookup says which it is and until when it holds.
 *
 * Shared by Verify and by the authentication of admin callers, so both judge a token the same way.
 * The cache answers only while the revocation hub is fresh; otherwise every lookup goes to the
 * database, and if that is down the caller gets UNAVAILABLE, never a stale "yes".
 *
 * Hot path: a cache hit costs one digest and one map read. The cache only ever holds digests of
 * values that passed presentedShape (a pure function of the value), so a hit needs no format check.
 * Misses that arrive together (within one turn of the event loop) share one round trip
 * (tessera_verify_lookup), up to MAX_BATCH per query (batcher.ts).
 *
 * Values that are not Tessera-format but may be imported ones (token-value.ts) carry no checksum;
 * the imported-value filter (imported-filter.ts) answers most of them NOT_FOUND without a query,
 * and such answers are not cached: a flood of distinct made-up values must not push real answers
 * out of the cache.
 */
import { Keyring } from "../domain/digest.js";
import { TesseraError } from "../domain/errors.js";
import { isOrgIdentifier } from "../domain/names.js";
import type { TokenLookup } from "../domain/model.js";
import { presentedShape } from "../domain/token-value.js";
import type { Database } from "../store/database.js";
import { lookupByDigests, redigest, type FoundToken } from "../store/queries/tokens.js";
import type { Log } from "../log.js";
import { createBatcher } from "./batcher.js";
import type { ImportedFilter } from "./imported-filter.js";
import type { VerifyCache } from "./verify-cache.js";

type LookupResult = { malformed: string } | { found: TokenLookup | undefined };

/**
 * Memoizes values derived from this service's answers (the authenticated Caller of an
 * authorization value), keyed by a keyed digest of what they were derived from, never the value.
 * A slot is open only while the cache may answer; its value is dropped by any event of its token.
 */
interface DerivedMemo {
  /** The slot for `value`, with its memoized value if any; undefined when the cache may not answer. */
  open(value: string): { key: string; generation: number; hit: unknown } | undefined;
  /** Stores `derived` (from `tokenId`'s lookup) for the slot, unless an event for that token arrived since it was opened; never beyond `notAfter` (ms). */
  set(slot: { key: string; generation: number }, derived: unknown, tokenId: string, notAfter: number): void;
}

/** Who asks for a lookup: Verify (and the edge checks), or the authentication of a caller. */
export type LookupPurpose = "verify" | "caller";

export interface TokenLookupService {
  lookup(token: string, targetIdentifier: string, purpose?: LookupPurpose): Promise<LookupResult>;
  /** Present when a cache is configured. */
  readonly memo?: DerivedMemo;
}

export interface TokenLookupOptions {
  db: Database;
  keyring: Keyring;
  log: Log;
  cache?: VerifyCache;
  /** Whether the cache may answer (the revocation hub read the feed recently). */
  cacheFresh?: () => boolean;
  /** Counts database lookups (benchmarks check queries per request). */
  onQuery?: () => void;
  /** Told each lookup the cache could not answer, as it goes to the database (metrics). */
  onDbLookup?: (purpose: LookupPurpose) => void;
  /** Rules out imported-looking values no token holds; consulted only while `cacheFresh()`. Absent: every such value is looked up. */
  importedFilter?: ImportedFilter;
  /** Most requests answered by one batched query (default 64; 1 disables batching). */
  maxBatch?: number;
  /**
   * Most lookup queries in flight at once (default 4). Misses arriving meanwhile wait and share
   * the next query: under load, batches grow instead of round trips, which is what PostgreSQL
   * and the pool are cheapest at; an idle server still sends a lone miss at once.
   */
  maxQueries?: number;
}

const NONE_FOUND: LookupResult = Object.freeze({ found: undefined });
const MAX_BATCH = 64;
const MAX_QUERIES = 4;

export function createTokenLookup(opts: TokenLookupOptions): TokenLookupService {
  const { db, keyring, log, cache } = opts;
  const filter = opts.importedFilter;
  const onDbLookup = opts.onDbLookup;
  const fresh = opts.cacheFresh ?? (() => true);
  const currentKeyId = keyring.currentKeyId;
  const oldKeyIds = keyring.keyIds.filter((id) => id !== currentKeyId);

  const query = createBatcher<{ digests: Buffer[]; targetIdentifier: string }, FoundToken | undefined>({
    run: (batch) => lookupByDigests(db.pool, batch),
    // With the database unreachable every member fails alike; any other failure may be one member's.
    failsAll: (err) => err instanceof TesseraError && err.code === "UNAVAILABLE",
    maxBatch: opts.maxBatch ?? MAX_BATCH,
    maxInFlight: opts.maxQueries ?? MAX_QUERIES,
    onRun: opts.onQuery,
  });

  const memo: DerivedMemo | undefined =
    cache === undefined
      ? undefined
      : {
          open(value) {
            if (!fresh()) return undefined;
            // Digests of whole authorization values, kept in the cache's derived map, apart from
            // token keys: they need no prefix to stay apart, and every Verify computes one.
            const key = keyring.digestString(value);
            return { key, generation: cache.generation, hit: cache.getDerived(key) };
          },
          set(slot, derived, tokenId, notAfter) {
            cache.setDerived(slot.key, derived, tokenId, slot.generation, notAfter);
          },
        };

  return {
    memo,
    async lookup(token, targetIdentifier, purpose = "verify") {
      // An identifier no organization can have (a NUL, a space, 10 kB of text) matches nothing,
      // and must not reach the database in a batch with other callers' lookups.
      if (targetIdentifier !== "" && !isOrgIdentifier(targetIdentifier)) return NONE_FOUND;
      const currentKey = keyring.digestString(token);
      const useCache = cache !== undefined && fresh();
      let key = "";
      if (useCache) {
        key = targetIdentifier === "" ? currentKey : currentKey + "\u0000" + targetIdentifier;
        // Only values of an accepted shape are ever cached (below), so a hit needs no format check.
        const hit = cache.get(key);
        if (hit !== undefined) return { found: hit.value };
      }
      const shape = presentedShape(token);
      if (shape.shape === "malformed") return { malformed: shape.reason };
      const generation = cache?.generation ?? 0;
      const current = Buffer.from(currentKey, "latin1");
      const digests: Buffer[] = [current];
      for (const keyId of oldKeyIds) digests.push(keyring.digest(token, keyId));
      // Under every live key: a token not yet re-digested since a key rotation is known by an older key's prefix.
      if (shape.shape === "imported" && filter !== undefined && fresh() && filter.rulesOut(currentKey, digests.slice(1))) return NONE_FOUND;
      onDbLookup?.(purpose);
      const hit = await query({ digests, targetIdentifier });
      let found: TokenLookup | undefined;
      if (hit !== undefined) {
        const j = hit.lookup.keyId === currentKeyId ? 0 : oldKeyIds.indexOf(hit.lookup.keyId) + 1;
        const match = j > 0 || hit.lookup.keyId === currentKeyId ? digests[j] : undefined;
        // The index found it by digest; re-check in constant time so no path compares secrets with ===.
        if (match !== undefined && Keyring.equal(match, hit.digest)) found = hit.lookup;
      }
      if (found !== undefined && found.keyId !== currentKeyId) {
        const row = found;
        const stored = hit!.digest;
        // A previous value (a rotation's grace period) too: it may outlive the old key's removal.
        const previous = row.previousUntil !== null;
        // Best effort: a failure leaves the old digest in place, which still verifies.
        db.withOrg(row.orgId, (tx) => redigest(tx, row.tokenId, stored, current, currentKeyId, previous)).catch((err: unknown) =>
          log("redigest_failed", { tokenId: row.tokenId, error: String(err) }),
        );
      }
      if (useCache) cache.set(key, found, generation);
      return { found };
    },
  };
}

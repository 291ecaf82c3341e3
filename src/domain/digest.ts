// Token digests at rest: keyed BLAKE2b-256 (libsodium crypto_generichash, 32-byte key and output).
//
// The database stores only digest + key id. The key lives outside the database (a 0600 file or an
// environment variable), so a database dump alone cannot be used to check guesses offline.
// Keys are versioned: after rotation the store looks a token up under every key (current first,
// see digestsForLookup) and re-digests hits found under an old key, so old tokens keep working.
//
// Key file format: {"current": 2, "keys": {"1": "<base64 of 32 bytes>", "2": "..."}}

import sodium from "sodium-native";

const KEY_BYTES = 32;
const DIGEST_BYTES = 32;
/** Domain separation: the audit MAC key is BLAKE2b(key = digest key, this). */
const AUDIT_KEY_CONTEXT = Buffer.from("tessera audit trail mac key v1", "utf8");

export interface KeyDigest {
  keyId: number;
  digest: Buffer;
}

export class Keyring {
  // Private fields: keys never show up in console.log, util.inspect or JSON.stringify.
  readonly #keys: ReadonlyMap<number, Buffer>;
  readonly #current: number;
  readonly #lookupOrder: readonly number[];
  readonly #auditKeys = new Map<number, Buffer>();
  // Reused input and output buffers. Safe because crypto_generichash is synchronous (no other
  // call can run in between on this thread) and the input is wiped after each use; it saves two
  // allocations per Verify and keeps token bytes out of Node's shared Buffer pool.
  readonly #scratch = Buffer.alloc(256);
  readonly #out = Buffer.alloc(DIGEST_BYTES);
  /** Views of #scratch by length: tokens have a handful of lengths, and a view costs an object. */
  readonly #views: Buffer[] = [];

  constructor(keys: ReadonlyMap<number, Buffer>, currentKeyId: number) {
    if (keys.size === 0) throw new Error("keyring: at least one key is required");
    const copy = new Map<number, Buffer>();
    for (const [id, key] of keys) {
      if (!Number.isSafeInteger(id) || id < 1) throw new Error(`keyring: key id ${id} is not a positive integer`);
      if (key.length !== KEY_BYTES) {
        throw new Error(`keyring: key ${id} is ${key.length} bytes, expected ${KEY_BYTES}`);
      }
      copy.set(id, Buffer.from(key)); // own copy: callers cannot change or wipe our keys
    }
    if (!copy.has(currentKeyId)) throw new Error(`keyring: current key ${currentKeyId} is not among the keys`);
    this.#keys = copy;
    this.#current = currentKeyId;
    this.#lookupOrder = [currentKeyId, ...[...copy.keys()].filter((id) => id !== currentKeyId).sort((a, b) => b - a)];
  }

  get currentKeyId(): number {
    return this.#current;
  }

  /** Key ids, current first, then older keys newest first. */
  get keyIds(): readonly number[] {
    return this.#lookupOrder;
  }

  has(keyId: number): boolean {
    return this.#keys.has(keyId);
  }

  /** Fresh 32-byte digest of `token` under `keyId` (default: the current key). */
  digest(token: string, keyId: number = this.#current): Buffer {
    this.#hash(token, keyId);
    return Buffer.from(this.#out);
  }

  /**
   * The current key's digest of `token` as a 32-character latin1 string: a map key for in-memory
   * caches that costs no Buffer. `Buffer.from(s, 'latin1')` gives the digest's bytes back.
   */
  digestString(token: string): string {
    this.#hash(token, this.#current);
    return this.#out.toString("latin1");
  }

  #hash(token: string, keyId: number): void {
    const key = this.#keys.get(keyId);
    if (key === undefined) throw new Error(`keyring: token digest key ${keyId} is not loaded`);
    // Up to 85 UTF-16 units fit the scratch buffer whatever they encode to (3 bytes at most each).
    const len = token.length <= 85 ? this.#scratch.write(token, 0, "utf8") : Buffer.byteLength(token, "utf8");
    if (len <= this.#scratch.length) {
      const input = (this.#views[len] ??= this.#scratch.subarray(0, len));
      if (token.length > 85) this.#scratch.write(token, 0, "utf8");
      sodium.crypto_generichash(this.#out, input, key);
      input.fill(0);
    } else {
      const input = Buffer.alloc(len);
      input.write(token, 0, "utf8");
      sodium.crypto_generichash(this.#out, input, key);
      input.fill(0);
    }
  }

  /**
   * The audit trail's MAC of `message` under key `keyId` (default: the current key): keyed
   * BLAKE2b-256 with a key derived from the digest key, so that a MAC can never equal a token's
   * digest and a database copy, holding neither key, can neither check nor forge one.
   */
  auditMac(message: Buffer, keyId: number = this.#current): Buffer {
    let key = this.#auditKeys.get(keyId);
    if (key === undefined) {
      const base = this.#keys.get(keyId);
      if (base === undefined) throw new Error(`keyring: audit key ${keyId} is not loaded`);
      key = Buffer.alloc(KEY_BYTES);
      sodium.crypto_generichash(key, AUDIT_KEY_CONTEXT, base);
      this.#auditKeys.set(keyId, key);
    }
    const out = Buffer.alloc(DIGEST_BYTES);
    sodium.crypto_generichash(out, message, key);
    return out;
  }

  /** Digests under every key, current first: the store tries them in this order. */
  digestsForLookup(token: string): KeyDigest[] {
    return this.#lookupOrder.map((keyId) => ({ keyId, digest: this.digest(token, keyId) }));
  }

  /** Constant-time comparison. Lengths are public (always 32 for digests), so checking them first leaks nothing. */
  static equal(a: Buffer, b: Buffer): boolean {
    if (a.length !== b.length) return false;
    return sodium.sodium_memcmp(a, b);
  }
}

/** Build a keyring from in-memory keys (tests, or callers that manage keys themselves). */
export function createKeyring(keys: ReadonlyMap<number, Buffer> | Record<number, Buffer>, current: number): Keyring {
  const map = keys instanceof Map ? keys : new Map(Object.entries(keys).map(([id, key]) => [Number(id), key] as [number, Buffer]));
  return new Keyring(map, current);
}

export function newKey(): Buffer {
  const key = Buffer.alloc(KEY_BYTES);
  sodium.randombytes_buf(key);
  return key;
}

// ---- key JSON (the key file's and the environment variable's format) ----

export interface KeyMaterial {
  current: number;
  keys: Map<number, Buffer>;
}

/**
 * Parses and validates the key JSON. `source` names where it came from, for messages; messages
 * never include the content (JSON.parse errors in Node 20 quote the input, so they are dropped).
 */
export function parseKeyJson(text: string, source: string): KeyMaterial {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new Error(`${source} is not valid JSON; expected {"current": 1, "keys": {"1": "<base64 of 32 bytes>"}}`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new Error(`${source} must be a JSON object with "current" and "keys"`);
  }
  const { current, keys } = doc as { current?: unknown; keys?: unknown };
  if (typeof current !== "number" || !Number.isSafeInteger(current) || current < 1) {
    throw new Error(`${source}: "current" must be a positive integer key id`);
  }
  if (typeof keys !== "object" || keys === null || Array.isArray(keys)) {
    throw new Error(`${source}: "keys" must be an object mapping key ids to base64 keys`);
  }
  const map = new Map<number, Buffer>();
  for (const [idText, value] of Object.entries(keys)) {
    if (!/^[1-9][0-9]{0,8}$/.test(idText)) throw new Error(`${source}: key id "${idText}" is not a positive integer`);
    const id = Number(idText);
    if (typeof value !== "string") throw new Error(`${source}: key ${id} must be a base64 string`);
    const key = Buffer.from(value, "base64");
    // Buffer.from is lenient (skips junk, ignores padding); demand the canonical encoding.
    if (key.toString("base64") !== value) throw new Error(`${source}: key ${id} is not valid base64`);
    if (key.length !== KEY_BYTES) {
      throw new Error(`${source}: key ${id} is ${key.length} bytes, expected ${KEY_BYTES}`);
    }
    map.set(id, key);
  }
  if (map.size === 0) throw new Error(`${source}: "keys" is empty`);
  if (!map.has(current)) throw new Error(`${source}: current key ${current} is not among "keys"`);
  return { current, keys: map };
}

export function serializeKeys(material: KeyMaterial): string {
  const keys: Record<string, string> = {};
  for (const id of [...material.keys.keys()].sort((a, b) => a - b)) keys[String(id)] = material.keys.get(id)!.toString("base64");
  return `${JSON.stringify({ current: material.current, keys }, null, 2)}\n`;
}

/** Parses the key JSON from an environment variable's value (e.g. TESSERA_DIGEST_KEYS). */
export function keyringFromEnv(value: string): Keyring {
  const m = parseKeyJson(value, "digest key environment variable");
  return new Keyring(m.keys, m.current);
}

import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat, writeFile, chmod } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { Keyring, createKeyring, keyringFromEnv, newKey } from "../../src/domain/digest.js";
import { loadOrCreateKeyFile } from "../../src/store/key-file.js";
import { generateToken } from "../../src/domain/token-format.js";

const key = (fill: number): Buffer => Buffer.alloc(32, fill);
// Python: hashlib.blake2b(b'abc', key=bytes(range(32)), digest_size=32).hexdigest()
const EXPECTED_ABC = "d63a32d3e44738d7907f964316c241adaba0abfeabc32349677578a15a203f7f";
const keyJson = (current: number, keys: Record<string, string>): string => JSON.stringify({ current, keys });

describe("token digests", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "tessera-digest-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("produces 32-byte digests that depend on both the token and the key", () => {
    const ring = createKeyring({ 1: key(1), 2: key(2) }, 1);
    const t = generateToken("INGESTION");
    const d1 = ring.digest(t);
    assert.equal(d1.length, 32);
    assert.ok(Keyring.equal(d1, ring.digest(t, 1)));
    assert.ok(!Keyring.equal(d1, ring.digest(t, 2)));
    assert.ok(!Keyring.equal(d1, ring.digest(generateToken("INGESTION"))));
  });

  it("matches a known keyed BLAKE2b-256 value, so digests are stable across releases", () => {
    // Key = bytes 0x00..0x1f, input "abc"; expected value from an independent implementation.
    const k = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
    const ring = createKeyring(new Map([[7, k]]), 7);
    assert.equal(ring.digest("abc").toString("hex"), EXPECTED_ABC);
  });

  it("returns a fresh output buffer each time, so callers may keep or wipe it", () => {
    const ring = createKeyring({ 1: key(1) }, 1);
    const a = ring.digest("tokenA");
    const copy = Buffer.from(a);
    ring.digest("tokenB");
    assert.ok(Keyring.equal(a, copy));
    a.fill(0);
    assert.ok(Keyring.equal(ring.digest("tokenA"), copy));
  });

  it("gives the same digest as a latin1 string key, for short, long and non-ASCII input in any order", () => {
    const ring = createKeyring({ 1: key(1), 2: key(2) }, 2);
    const inputs = [
      generateToken("INGESTION"),
      "ab",
      "é".repeat(85),
      "ü".repeat(86),
      "x".repeat(300),
      generateToken("VERIFIER"),
      "ab",
      "😀".repeat(50),
    ];
    for (const input of inputs) {
      const s = ring.digestString(input);
      assert.equal(s.length, 32);
      assert.ok(Keyring.equal(Buffer.from(s, "latin1"), ring.digest(input)), `digestString(${input.slice(0, 8)}…)`);
      assert.ok(!Keyring.equal(Buffer.from(s, "latin1"), ring.digest(input, 1)), "under the current key, not an old one");
    }
    assert.equal(
      createKeyring(new Map([[7, Buffer.from(Array.from({ length: 32 }, (_, i) => i))]]), 7).digestString("abc"),
      Buffer.from(EXPECTED_ABC, "hex").toString("latin1"),
    );
  });

  it("digests long tokens and short tokens alike without leftover scratch bytes", () => {
    const ring = createKeyring({ 1: key(1) }, 1);
    const long = "x".repeat(1000);
    const d = ring.digest(long);
    assert.ok(Keyring.equal(ring.digest("ab"), createKeyring({ 1: key(1) }, 1).digest("ab")));
    assert.ok(Keyring.equal(ring.digest(long), d));
  });

  it("orders lookup digests current key first, then older keys newest first", () => {
    const ring = createKeyring({ 1: key(1), 2: key(2), 3: key(3) }, 2);
    const t = generateToken("OPERATOR");
    const lookup = ring.digestsForLookup(t);
    assert.deepEqual(
      lookup.map((l) => l.keyId),
      [2, 3, 1],
    );
    for (const { keyId, digest } of lookup) assert.ok(Keyring.equal(digest, ring.digest(t, keyId)));
  });

  it("compares digests in constant time and says false for different lengths", () => {
    const a = Buffer.alloc(32, 7);
    assert.equal(Keyring.equal(a, Buffer.alloc(32, 7)), true);
    assert.equal(Keyring.equal(a, Buffer.alloc(31, 7)), false);
    assert.equal(Keyring.equal(a, Buffer.alloc(33, 7)), false);
    const b = Buffer.from(a);
    b[31] = 8;
    assert.equal(Keyring.equal(a, b), false);
  });

  it("refuses keys that are not 32 bytes, unknown current keys and unknown key ids", () => {
    assert.throws(() => createKeyring({ 1: Buffer.alloc(16) }, 1), /16 bytes/);
    assert.throws(() => createKeyring({ 1: key(1) }, 2), /current key 2/);
    assert.throws(() => createKeyring({ 1: key(1) }, 1).digest("x", 9), /key 9/);
  });

  it("keeps key material out of inspect and JSON output", () => {
    const k = newKey();
    const ring = createKeyring({ 1: k }, 1);
    const shown = inspect(ring, { depth: 5 }) + JSON.stringify(ring);
    assert.ok(!shown.includes(k.toString("hex")) && !shown.includes(k.toString("base64")));
  });

  it("creates a missing key file with mode 0600 in a new directory, and loads the same key next time", async () => {
    const path = join(dir, "nested", "keys.json");
    const ring = await loadOrCreateKeyFile(path);
    if (process.platform !== "win32") assert.equal((await stat(path)).mode & 0o777, 0o600);
    const doc = JSON.parse(await readFile(path, "utf8")) as { current: number; keys: Record<string, string> };
    assert.equal(doc.current, 1);
    assert.equal(Buffer.from(doc.keys["1"]!, "base64").length, 32);
    const again = await loadOrCreateKeyFile(path);
    const t = generateToken("INGESTION");
    assert.ok(Keyring.equal(ring.digest(t), again.digest(t)));
  });

  it("refuses a key file readable by group or others", async function () {
    if (process.platform === "win32") this.skip();
    const path = join(dir, "keys.json");
    await writeFile(path, keyJson(1, { 1: key(1).toString("base64") }), { mode: 0o600 });
    await chmod(path, 0o644);
    await assert.rejects(loadOrCreateKeyFile(path), /mode 0644.*chmod 600/s);
    await chmod(path, 0o640);
    await assert.rejects(loadOrCreateKeyFile(path), /mode 0640/);
    await chmod(path, 0o600);
    await loadOrCreateKeyFile(path);
  });

  it("refuses malformed key files without quoting their content", async () => {
    const path = join(dir, "keys.json");
    const cases: Array<[string, RegExp]> = [
      ['{"current": 1, "keys": {"1": "c2VjcmV0c2VjcmV0"', /not valid JSON/],
      ["[]", /JSON object/],
      [keyJson(1, {}), /empty/],
      [keyJson(2, { 1: key(1).toString("base64") }), /current key 2/],
      [keyJson(1, { 1: Buffer.alloc(16, 1).toString("base64") }), /16 bytes/],
      [keyJson(1, { 1: key(1).toString("base64").replace(/=$/, "") }), /not valid base64/],
      [keyJson(1, { x: key(1).toString("base64") }), /key id "x"/],
    ];
    for (const [content, re] of cases) {
      await writeFile(path, content, { mode: 0o600 });
      await assert.rejects(loadOrCreateKeyFile(path), (e: Error) => {
        assert.match(e.message, re);
        assert.ok(!e.message.includes("c2VjcmV0") && !e.message.includes(key(1).toString("base64")));
        return true;
      });
    }
  });

  it("keeps old-key digests findable once a new key is added to the file and made current", async () => {
    const path = join(dir, "keys.json");
    const before = await loadOrCreateKeyFile(path);
    const t = generateToken("READ_WRITE");
    const stored = { keyId: before.currentKeyId, digest: before.digest(t) };
    // What an operator does to rotate (README, "Digest keys"): add a key, make it current.
    const doc = JSON.parse(await readFile(path, "utf8")) as { keys: Record<string, string> };
    await writeFile(path, keyJson(2, { ...doc.keys, 2: newKey().toString("base64") }), { mode: 0o600 });

    const after = await loadOrCreateKeyFile(path);
    assert.equal(after.currentKeyId, 2);
    assert.deepEqual(after.keyIds, [2, 1]);
    const lookup = after.digestsForLookup(t);
    assert.equal(lookup[0]!.keyId, 2);
    assert.ok(!Keyring.equal(lookup[0]!.digest, stored.digest));
    const hit = lookup.find((l) => l.keyId === stored.keyId && Keyring.equal(l.digest, stored.digest));
    assert.ok(hit, "old digest not found after rotation");
  });

  it("reads the same JSON from an environment variable and hides its content on errors", () => {
    const k = key(5).toString("base64");
    const ring = keyringFromEnv(keyJson(3, { 3: k, 1: key(1).toString("base64") }));
    assert.equal(ring.currentKeyId, 3);
    assert.ok(Keyring.equal(ring.digest("t"), createKeyring({ 3: key(5) }, 3).digest("t")));
    assert.throws(
      () => keyringFromEnv(`{"current":1,"keys":{"1":"${k}"`),
      (e: Error) => /environment variable is not valid JSON/.test(e.message) && !e.message.includes(k),
    );
  });
});

import assert from "node:assert/strict";
import { chmod, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { newKey } from "../../src/domain/digest.js";
import { EndpointClass, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { loadOrCreateKeyFile } from "../../src/store/key-file.js";
import { grpcJsClients } from "../helpers/clients.js";
import { freshDatabase, superQuery, type TestDatabase } from "../helpers/db.js";
import { issue, setupInstance } from "../helpers/seed.js";
import { startTestServer } from "../helpers/server.js";
import { assertNoStack, runCli, tempDir, writeKeyFile } from "./run-cli.js";

interface KeysJson {
  file: string | null;
  current: number;
  keys: number[];
  added?: number;
  previous?: number;
}

/** Every key's base64 in a key file: none may appear in the CLI's output. */
async function keyMaterial(file: string): Promise<string[]> {
  return Object.values((JSON.parse(await readFile(file, "utf8")) as { keys: Record<string, string> }).keys);
}

describe("tessera keys", function () {
  this.timeout(180_000); // every step spawns a node process; shared CI machines can be slow
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let db: TestDatabase;
  before(async () => {
    tmp = await tempDir();
    db = await freshDatabase();
  });
  after(async () => {
    await db.drop();
    await tmp.remove();
  });

  it("rotates: a server started on the rotated file verifies old tokens and digests new ones under the new key", async () => {
    const keyFile = path.join(tmp.dir, "digest-keys.json");
    const first = newKey();
    await writeKeyFile(keyFile, { 1: first }, 1);

    // Before: a server on key 1 issues a token.
    let server = await startTestServer({ db, keyring: await loadOrCreateKeyFile(keyFile) });
    let c = grpcJsClients(server.tessera.grpcPort);
    let old: { value: string; id: string };
    let verifier: string;
    let operator: string;
    try {
      const inst = await setupInstance(c);
      verifier = inst.verifierToken;
      operator = inst.operatorToken;
      old = await issue(c, operator, { kind: TokenKind.INGESTION });
    } finally {
      c.close();
      await server.close();
    }

    const listed = await runCli(["keys", "list", "--key-file", keyFile, "--json"]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(JSON.parse(listed.stdout), { file: keyFile, current: 1, keys: [1] });

    const r = await runCli(["keys", "rotate", "--key-file", keyFile, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout) as KeysJson, { file: keyFile, current: 2, keys: [1, 2], added: 2, previous: 1 });
    assert.match(r.stderr, /every instance sharing the database and restart/);
    assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
    const material = await keyMaterial(keyFile);
    assert.equal(material[0], first.toString("base64"), "the old key is kept as it was");
    assert.equal(Buffer.from(material[1]!, "base64").length, 32);
    assert.notEqual(material[1], material[0]);
    for (const k of material) assert.ok(!r.stdout.includes(k) && !r.stderr.includes(k), "no key material is printed");

    const table = await runCli(["keys", "list", "--key-file", keyFile]);
    assert.deepEqual(
      table.stdout
        .trimEnd()
        .split("\n")
        .map((l) => l.trimEnd()),
      ["CURRENT  ID", "         1", "*        2"],
    );

    // After: a server started on the rotated file.
    server = await startTestServer({ db, keyring: await loadOrCreateKeyFile(keyFile) });
    c = grpcJsClients(server.tessera.grpcPort);
    try {
      assert.equal(server.keyring.currentKeyId, 2);
      const v = await c.verify.verify({ credential: old.value, endpoint: EndpointClass.INGEST }, verifier);
      assert.equal(v.status, VerifyStatus.VALID, "a token digested under key 1 still verifies");
      const fresh = await issue(c, operator, { kind: TokenKind.INGESTION });
      const rows = await superQuery<{ key_id: number }>(db, "SELECT key_id FROM tokens WHERE id = $1", [fresh.id]);
      assert.deepEqual(rows, [{ key_id: 2 }], "a new token is digested under the new key");
      const v2 = await c.verify.verify({ credential: fresh.value, endpoint: EndpointClass.INGEST }, verifier);
      assert.equal(v2.status, VerifyStatus.VALID);
    } finally {
      c.close();
      await server.close();
    }
  });

  it("adds a key without making it current, then uses it, for a fleet that rotates in two steps", async () => {
    const keyFile = path.join(tmp.dir, "two-step.json");
    await writeKeyFile(keyFile, { 1: newKey(), 4: newKey() }, 4);
    const added = await runCli(["keys", "add", "--key-file", keyFile, "--json"]);
    assert.equal(added.code, 0, added.stderr);
    assert.deepEqual(JSON.parse(added.stdout), { file: keyFile, current: 4, keys: [1, 4, 5], added: 5, previous: 4 });
    const used = await runCli(["keys", "use", "5", "--key-file", keyFile, "--json"]);
    assert.equal(used.code, 0, used.stderr);
    assert.deepEqual(JSON.parse(used.stdout), { file: keyFile, current: 5, keys: [1, 4, 5], previous: 4 });
    const keyring = await loadOrCreateKeyFile(keyFile);
    assert.equal(keyring.currentKeyId, 5);
    const unknown = await runCli(["keys", "use", "--id", "7", "--key-file", keyFile]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--id 7: no such key in .*; it holds 1, 4, 5/);
  });

  it("reads the key file from --data-dir or TESSERA_KEY_FILE, and refuses what it cannot change", async () => {
    const dataDir = path.join(tmp.dir, "data");
    const dirFile = path.join(dataDir, "digest-keys.json");
    const missing = await runCli(["keys", "rotate", "--data-dir", dataDir]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no digest key file at .*digest-keys\.json: the server creates it when it first starts/);
    await loadOrCreateKeyFile(dirFile);
    const viaDir = await runCli(["keys", "rotate", "--data-dir", dataDir, "--json"]);
    assert.equal(viaDir.code, 0, viaDir.stderr);
    assert.equal((JSON.parse(viaDir.stdout) as KeysJson).current, 2);
    const viaEnv = await runCli(["keys", "list", "--json"], { TESSERA_KEY_FILE: dirFile });
    assert.deepEqual(JSON.parse(viaEnv.stdout), { file: dirFile, current: 2, keys: [1, 2] });

    const before = await readFile(dirFile, "utf8");
    const envKeys = JSON.stringify({ current: 3, keys: { 3: newKey().toString("base64") } });
    const refused = await runCli(["keys", "rotate", "--key-file", dirFile], { TESSERA_DIGEST_KEYS: envKeys });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /TESSERA_DIGEST_KEYS is set, so the server takes its digest keys from the environment/);
    assert.equal(await readFile(dirFile, "utf8"), before, "the file is unchanged");
    const fromEnv = await runCli(["keys", "list", "--json"], { TESSERA_DIGEST_KEYS: envKeys });
    assert.deepEqual(JSON.parse(fromEnv.stdout), { file: null, current: 3, keys: [3], source: "TESSERA_DIGEST_KEYS" });
    assert.ok(!fromEnv.stdout.includes(JSON.parse(envKeys).keys[3]));

    const both = await runCli(["keys", "list", "--key-file", dirFile, "--data-dir", dataDir]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /either --key-file or --data-dir/);

    const open = path.join(tmp.dir, "open.json");
    await writeKeyFile(open, { 1: newKey() }, 1);
    await chmod(open, 0o644);
    const loose = await runCli(["keys", "rotate", "--key-file", open]);
    assert.equal(loose.code, 1);
    assert.match(loose.stderr, /has mode 0644.*chmod 600/);
    const junk = path.join(tmp.dir, "junk.json");
    await writeFile(junk, "not json", { mode: 0o600 });
    const bad = await runCli(["keys", "list", "--key-file", junk]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /is not valid JSON/);
    for (const x of [missing, refused, both, loose, bad]) assertNoStack(x.stderr);
  });
});

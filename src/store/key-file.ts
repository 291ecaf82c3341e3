/**
 * The digest key file (`<data dir>/digest-keys.json`, mode 0600): loaded at start-up, created
 * with one fresh key on first start, changed by `tessera keys`. The key JSON itself is the
 * domain's (digest.ts); this is the file's I/O: permission checks, atomic creation and
 * replacement, and an fsync, because losing a key loses every token digested under it.
 */
import { randomBytes } from "node:crypto";
import { link, mkdir, open, realpath, rename, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { Keyring, newKey, parseKeyJson, serializeKeys, type KeyMaterial } from "../domain/digest.js";

/** The keys in the file, checked as at start-up (mode, JSON, 32-byte keys); a missing file rejects with ENOENT. */
export async function readKeyFile(path: string): Promise<KeyMaterial> {
  // fstat the open handle rather than stat-then-read, so the checked file is the file read.
  const fh = await open(path, "r");
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new Error(`digest key file ${path} is not a regular file`);
    if (process.platform !== "win32" && (st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, "0");
      throw new Error(
        `digest key file ${path} has mode ${mode}; it must not be accessible to group or others. ` + `Run: chmod 600 ${path}`,
      );
    }
    return parseKeyJson(await fh.readFile("utf8"), `digest key file ${path}`);
  } finally {
    await fh.close();
  }
}

/** Writes a complete 0600 temp file next to `path`, flushed to disk; returns its name. */
async function writeTempKeyFile(path: string, material: KeyMaterial): Promise<string> {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  const fh = await open(tmp, "wx", 0o600);
  try {
    await fh.writeFile(serializeKeys(material), "utf8");
    await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  return tmp;
}

/** fsync the directory so a new or renamed key file survives a crash (losing a key loses its tokens). */
async function syncDir(dir: string): Promise<void> {
  // Some platforms/filesystems cannot open or fsync a directory; the file itself is already synced.
  const fh = await open(dir, "r").catch(() => undefined);
  if (!fh) return;
  await fh.sync().catch(() => undefined);
  await fh.close();
}

/**
 * Loads the key file, creating it (and its directory, mode 0700) with one fresh key if missing.
 * Refuses files readable by group/others, malformed JSON, and keys that are not 32 bytes.
 */
export async function loadOrCreateKeyFile(path: string): Promise<Keyring> {
  try {
    const m = await readKeyFile(path);
    return new Keyring(m.keys, m.current);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const material: KeyMaterial = { current: 1, keys: new Map([[1, newKey()]]) };
  // Complete temp file, then link(): atomic and fails if the file appeared meanwhile (another
  // process starting at the same time), in which case we use theirs. Readers never see a
  // half-written file.
  const tmp = await writeTempKeyFile(path, material);
  try {
    await link(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    const m = await readKeyFile(path);
    return new Keyring(m.keys, m.current);
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  await syncDir(dirname(path));
  return new Keyring(material.keys, material.current);
}

/**
 * Replaces the key file with `material`: a complete 0600 temp file, flushed, renamed over the old
 * one (through a symlink, beside its target), then the directory flushed, so a reader or a crash
 * sees the old keys or the new ones, never half a file. Two changes at the same moment can lose
 * one of them; servers read the file only when they start, so no token is digested under a key
 * lost that way before someone restarts one.
 */
export async function replaceKeyFile(path: string, material: KeyMaterial): Promise<void> {
  const target = await realpath(path);
  const tmp = await writeTempKeyFile(target, material);
  try {
    await rename(tmp, target);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await syncDir(dirname(target));
}

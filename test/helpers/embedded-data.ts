/**
 * Removes an embedded data directory and, when its cluster was kept outside it (as root, a data
 * directory PostgreSQL's OS user cannot reach: `<dataDir>/pg` is then a symlink into
 * SHARED_DIR/clusters), that cluster too: removing the directory alone would leave the cluster
 * behind in /var/lib/tessera on every run.
 */
import { readlink, rm } from "node:fs/promises";
import path from "node:path";
import { SHARED_DIR } from "../../src/store/pg-server.js";

export async function removeDataDir(dataDir: string): Promise<void> {
  const target = await readlink(path.join(dataDir, "pg")).catch(() => undefined);
  if (target !== undefined) {
    const cluster = path.resolve(dataDir, target);
    // Only what Tessera created there; a link pointing anywhere else is left alone.
    if (path.dirname(cluster) === path.join(SHARED_DIR, "clusters")) await rm(cluster, { recursive: true, force: true });
  }
  await rm(dataDir, { recursive: true, force: true });
}

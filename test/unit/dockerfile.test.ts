/**
 * The Docker image (no Docker engine runs here, so its file is what can be checked): both stages
 * on the same supported Node LTS line, and everything that must survive re-creating the container
 * (cluster, digest keys, the CLI's config from `compose exec tessera tessera setup`) in /data.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const root = (p: string) => fileURLToPath(new URL(`../../../${p}`, import.meta.url));

describe("the Docker image", () => {
  it("builds and runs on one supported Node LTS line", async () => {
    const dockerfile = await readFile(root("docker/Dockerfile"), "utf8");
    const bases = [...dockerfile.matchAll(/^FROM node:(\d+)-bookworm-slim\b/gm)].map((m) => Number(m[1]));
    assert.equal(bases.length, 2, "a build and a runtime stage");
    assert.equal(bases[0], bases[1], "the same Node in both");
    // Even majors are the LTS lines; 20 reached its end of life in April 2026.
    assert.ok(bases[0]! >= 22 && bases[0]! % 2 === 0, `node:${bases[0]} is not a supported LTS`);
  });

  it("keeps the data directory and the CLI's config in the /data volume", async () => {
    const dockerfile = await readFile(root("docker/Dockerfile"), "utf8");
    assert.match(dockerfile, /TESSERA_DATA_DIR=\/data\b/);
    assert.match(dockerfile, /TESSERA_CONFIG=\/data\/[^\s\\]+\.json/);
    assert.match(dockerfile, /^VOLUME \["\/data"\]$/m);
  });
});

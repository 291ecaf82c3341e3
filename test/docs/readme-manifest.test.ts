/**
 * The README's example manifest is a real one: it reads without a problem, and means what the
 * README says it means.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { readManifest } from "../../src/domain/manifest/read-manifest.js";
import { generateToken } from "../../src/domain/token-format.js";

describe("the README's example manifest", () => {
  it("reads without a problem, sub-organizations, values and all", async () => {
    const readme = await readFile(fileURLToPath(new URL("../../../README.md", import.meta.url)), "utf8");
    const section = readme.slice(readme.indexOf("## Declarative provisioning"));
    const example = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    assert.ok(example !== undefined, "the section has a yaml block");
    const env: Record<string, string> = { EDGE_COLLECTOR_TOKEN: generateToken("INGESTION"), EU_AGENTS_TOKEN: generateToken("INGESTION") };
    const r = readManifest(example, {
      now: Date.parse("2026-06-01T00:00:00Z"),
      variable: (n) => env[n],
      readValueFile: (p) =>
        p === "secrets/grafana.token" ? { ok: true, text: `${generateToken("READ_WRITE")}\n` } : { ok: false, problem: "no such file" },
    });
    if (!r.ok) assert.fail(r.problems.map((p) => `${p.line}:${p.col} ${p.path}: ${p.message}`).join("\n"));
    assert.deepEqual(
      r.desired.organizations.map((o) => `${o.identifier} < ${o.parent ?? "-"}`),
      ["acme < -", "acme-eu < acme", "acme-us < acme"],
    );
    assert.deepEqual(r.desired.valuesOut, { file: "tessera-values.json", source: "manifest" });
    assert.equal(r.desired.organizations[0]!.tokens.length, 4);
  });
});

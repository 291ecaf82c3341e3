import assert from "node:assert/strict";
import { inspect } from "node:util";
import { readManifest, type ManifestInputs } from "../../src/domain/manifest/read-manifest.js";
import { generateToken } from "../../src/domain/token-format.js";

const NOW = Date.parse("2026-06-01T00:00:00Z");
const EDGE = generateToken("INGESTION");
const OTHER = generateToken("INGESTION");

interface Opts {
  env?: Record<string, string>;
  files?: Record<string, string>;
  valuesOut?: string;
}

function inputs(o: Opts = {}): ManifestInputs {
  return {
    now: NOW,
    variable: (n) => (Object.hasOwn(o.env ?? {}, n) ? o.env![n] : undefined),
    readValueFile: (p) => (Object.hasOwn(o.files ?? {}, p) ? { ok: true, text: o.files![p]! } : { ok: false, problem: "no such file" }),
    ...(o.valuesOut !== undefined && { valuesOut: o.valuesOut }),
  };
}

/** The problems as `line:col path: message`, for exact comparison. */
function problems(text: string, o: Opts = {}): string[] {
  const r = readManifest(text, inputs(o));
  assert.equal(r.ok, false, "the manifest should have been refused");
  return r.ok ? [] : r.problems.map((p) => `${p.line}:${p.col} ${p.path}: ${p.message}`);
}

function desired(text: string, o: Opts = {}) {
  const r = readManifest(text, inputs(o));
  if (!r.ok) assert.fail(r.problems.map((p) => `${p.line}:${p.col} ${p.path}: ${p.message}`).join("\n"));
  return r.desired;
}

/** A manifest from lines, so that line numbers in the expectations are easy to count. */
const yaml = (...lines: string[]) => `${lines.join("\n")}\n`;

describe("reading a manifest", () => {
  it("turns a valid file into the desired state, nested organizations after their parent", () => {
    const d = desired(
      yaml(
        "version: 1",
        "values_out: out.json",
        "users:",
        "  - name: alice",
        "  - name: ops",
        "    root: true",
        "organizations:",
        "  - identifier: acme",
        "    name: Acme Corp",
        "    buckets:",
        "      - name: logs",
        "        description: Application logs",
        "    members:",
        "      - user: alice",
        "        role: editor",
        "    tokens:",
        "      - name: default",
        "        generate: true",
        "      - name: edge",
        "        kind: ingestion",
        "        permissions: { signals: [logs, metrics], buckets: [logs] }",
        "        value_from_env: EDGE_TOKEN",
        "      - name: grafana",
        "        kind: read-write",
        "        owner: alice",
        "        permissions:",
        "          bucket_access: [{ bucket: logs, read: true, write: true }]",
        "        expire_time: 2027-01-01T00:00:00Z",
        "        value_file: grafana.token",
        "      - name: status",
        "        kind: shared",
        "        permissions: { dashboards: [uptime], filters: { service: checkout } }",
        "        expires_in: 30d",
        "        generate: true",
        "    organizations:",
        "      - identifier: acme-eu",
        "        parent_access: false",
        "  - identifier: shop",
        "    parent: acme",
      ),
      { env: { EDGE_TOKEN: EDGE }, files: { "grafana.token": `${generateToken("READ_WRITE")}\n` } },
    );
    assert.deepEqual(d.valuesOut, { file: "out.json", source: "manifest" });
    assert.deepEqual(d.users, [
      { path: "users[0]", name: "alice", root: false },
      { path: "users[1]", name: "ops", root: true },
    ]);
    assert.deepEqual(
      d.organizations.map((o) => [o.path, o.identifier, o.name, o.parent, o.parentAccess]),
      [
        ["organizations[0]", "acme", "Acme Corp", null, true],
        ["organizations[0].organizations[0]", "acme-eu", "acme-eu", "acme", false],
        ["organizations[1]", "shop", "shop", "acme", true],
      ],
    );
    const acme = d.organizations[0]!;
    assert.deepEqual(acme.buckets, [{ path: "organizations[0].buckets[0]", name: "logs", description: "Application logs" }]);
    assert.deepEqual(acme.members, [{ path: "organizations[0].members[0]", user: "alice", role: "EDITOR" }]);
    const [def, edge, grafana, status] = acme.tokens;
    assert.deepEqual(def?.value, { from: "organization", save: true });
    assert.equal(def?.description, "Default ingestion token");
    assert.deepEqual(edge?.permissions, { signals: ["LOGS", "METRICS"], buckets: ["logs"] });
    assert.equal(edge?.value.from === "env" && edge.value.value.reveal(), EDGE);
    assert.deepEqual(grafana?.permissions, { bucketAccess: [{ bucket: "logs", read: true, write: true }] });
    assert.deepEqual(grafana?.expiry, { kind: "at", time: new Date("2027-01-01T00:00:00Z") });
    assert.equal(grafana?.owner, "alice");
    assert.ok(
      grafana?.value.from === "file" && !grafana.value.value.reveal().endsWith("\n"),
      "the file's final newline is not part of the value",
    );
    assert.deepEqual(status?.expiry, { kind: "in", ms: 30 * 86_400_000, text: "30d" });
    assert.deepEqual(status?.permissions, { dashboards: ["uptime"], filters: { service: "checkout" } });
    assert.deepEqual(d.positions.get("organizations[0].tokens[1].permissions.buckets[0]"), { line: 21, col: 60 });
  });

  it("reports an unknown field at its key, with the field's path and the known fields", () => {
    assert.deepEqual(
      problems(
        yaml(
          "version: 1",
          "organizations:",
          "  - identifier: acme",
          "    tokens:",
          "      - name: a",
          "        kind: ingestion",
          "        generate: true",
          "        descripton: typo",
        ),
        {
          valuesOut: "v.json",
        },
      ),
      [
        '8:9 organizations[0].tokens[0].descripton: unknown field "descripton" in a token; known fields: name, kind, description, owner, permissions, expire_time, expires_in, value_from_env, value_file, generate',
      ],
    );
  });

  it("reports wrong types: a number for a string, a string for a boolean, a mapping for a list", () => {
    assert.deepEqual(problems(yaml("version: 1", "users:", "  - name: 2024", "    root: yes", "organizations:", "  identifier: acme")), [
      "3:11 users[0].name: must be a string, not a number; put it in quotes",
      "4:11 users[0].root: must be true or false, not a string",
      "6:3 organizations: must be a list (organizations: a list of organizations)",
    ]);
  });

  it("reports bad names with the rule each one breaks", () => {
    assert.deepEqual(
      problems(
        yaml(
          "version: 1",
          "organizations:",
          "  - identifier: Acme",
          "    buckets:",
          "      - name: -logs",
          "    tokens:",
          "      - name: has space",
          "        kind: ingestion",
          "        generate: true",
        ),
        { valuesOut: "v.json" },
      ),
      [
        '3:17 organizations[0].identifier: organization identifier may contain only lowercase letters, digits, "_" and "-", starting with a letter or digit (pattern [a-z0-9][a-z0-9_-]{0,62})',
        '5:15 organizations[0].buckets[0].name: bucket name may contain only lowercase letters, digits, "_" and "-", starting with a letter or digit (pattern [a-z0-9][a-z0-9_-]{0,62})',
        '7:15 organizations[0].tokens[0].name: token name may contain only letters, digits, "_" and "-" (pattern [A-Za-z0-9_-]{1,256})',
      ],
    );
  });

  it("reports every duplicate name, pointing at the second one and naming the first", () => {
    assert.deepEqual(
      problems(
        yaml(
          "version: 1",
          "users: [{ name: alice }, { name: alice }]",
          "organizations:",
          "  - identifier: acme",
          "    buckets: [{ name: logs }, { name: logs }]",
          "    tokens:",
          "      - { name: t, kind: verifier, generate: true }",
          "      - { name: t, kind: verifier, generate: true }",
          "  - identifier: acme",
        ),
        { valuesOut: "v.json" },
      ),
      [
        '2:34 users[1].name: user "alice" is declared twice (first at users[0])',
        '5:39 organizations[0].buckets[1].name: bucket "logs" is declared twice (first at organizations[0].buckets[0])',
        '8:17 organizations[0].tokens[1].name: token "t" is declared twice (first at organizations[0].tokens[0])',
        '9:17 organizations[1].identifier: organization "acme" is declared twice (first at organizations[0])',
      ],
    );
  });

  it("refuses operator tokens, and shared tokens without an expiry or a dashboard", () => {
    assert.deepEqual(
      problems(
        yaml(
          "version: 1",
          "organizations:",
          "  - identifier: acme",
          "    tokens:",
          "      - name: root-token",
          "        kind: operator",
          "        generate: true",
          "      - name: status",
          "        kind: shared",
          "        generate: true",
        ),
        { valuesOut: "v.json" },
      ),
      [
        "6:15 organizations[0].tokens[0].kind: operator tokens are not provisioned by a manifest: tessera setup and tessera recovery make them",
        "8:9 organizations[0].tokens[1]: a shared token needs an expiry: expire_time or expires_in",
        "8:9 organizations[0].tokens[1]: a shared token needs at least one dashboard in permissions.dashboards",
      ],
    );
  });

  it("reports a missing environment variable, an unreadable value file and unacceptable values, never the value", () => {
    const broken = `${EDGE.slice(0, -1)}${EDGE.endsWith("A") ? "B" : "A"}`;
    const rw = generateToken("READ_WRITE");
    const text = yaml(
      "version: 1",
      "organizations:",
      "  - identifier: acme",
      "    tokens:",
      "      - { name: a, kind: ingestion, value_from_env: NOT_SET }",
      "      - { name: b, kind: ingestion, value_file: missing.token }",
      "      - { name: c, kind: ingestion, value_from_env: BROKEN }",
      "      - { name: d, kind: ingestion, value_from_env: WRONG_KIND }",
      "      - { name: e, kind: ingestion, value_file: short.txt }",
      "      - { name: f, kind: ingestion, value_from_env: EDGE }",
      "      - { name: g, kind: ingestion, value_from_env: EDGE_AGAIN }",
      "      - { name: h, kind: ingestion, value_from_env: SPACED }",
      "      - { name: i, kind: ingestion, value_from_env: LOW }",
    );
    const spaced = "correct horse battery staple and more words";
    const env = { BROKEN: broken, WRONG_KIND: rw, EDGE, EDGE_AGAIN: EDGE, SPACED: spaced, LOW: "a".repeat(40) };
    const got = problems(text, { env, files: { "short.txt": "hunter2hunter2" } });
    assert.deepEqual(got, [
      "5:53 organizations[0].tokens[0].value_from_env: environment variable NOT_SET is not set",
      '6:49 organizations[0].tokens[1].value_file: cannot read value file "missing.token": no such file',
      '7:53 organizations[0].tokens[2].value_from_env: the value in environment variable BROKEN is not acceptable: value looks like a Tessera INGESTION token but is not one (token checksum does not match (mistyped or truncated token?)); a INGESTION token\'s value is "o2oi_" followed by 38 letters and digits',
      '8:53 organizations[0].tokens[3].value_from_env: the value in environment variable WRONG_KIND is not acceptable: value is a Tessera READ_WRITE token value; a INGESTION token\'s value starts with "o2oi_"',
      '9:49 organizations[0].tokens[4].value_file: the value in "short.txt" is not acceptable: an imported value must be at least 32 characters long',
      "11:53 organizations[0].tokens[6].value_from_env: the value in environment variable EDGE_AGAIN is the same as the value of organizations[0].tokens[5]: every token needs its own value",
      "12:53 organizations[0].tokens[7].value_from_env: the value in environment variable SPACED is not acceptable: an imported value may contain only printable ASCII characters, without spaces (a credential is one word)",
      "13:53 organizations[0].tokens[8].value_from_env: the value in environment variable LOW is not acceptable: the imported value is too predictable: about 6 bits of estimated entropy, at least 128 are required (it contains repeated characters or parts, too few distinct characters); use a longer random value",
    ]);
    for (const secret of [broken, rw, EDGE, "hunter2", "horse"]) assert.ok(!got.join("\n").includes(secret), "no value in any message");
  });

  it("never repeats a token value pasted where a field name or another value belongs", () => {
    const text = yaml(
      "version: 1",
      "organizations:",
      "  - identifier: acme",
      "    tokens:",
      `      - ${OTHER}: x`,
      `      - { name: a, kind: ingestion, value: ${OTHER} }`,
    );
    const got = problems(text).join("\n");
    assert.ok(!got.includes(OTHER), got);
    assert.match(got, /5:9 organizations\[0\]\.tokens\[0\]: an unknown field in a token/);
    assert.match(got, /6:37 organizations\[0\]\.tokens\[1\]\.value: unknown field "value"/);
  });

  it("keeps a value out of every printed form of the desired state", () => {
    const d = desired(
      yaml(
        "version: 1",
        "organizations:",
        "  - identifier: acme",
        "    tokens:",
        "      - { name: a, kind: ingestion, value_from_env: EDGE }",
      ),
      {
        env: { EDGE },
      },
    );
    const token = d.organizations[0]!.tokens[0]!;
    for (const printed of [
      JSON.stringify(d.organizations),
      inspect(d, { depth: 10 }),
      String(token.value.from === "env" && token.value.value),
    ]) {
      assert.ok(!printed.includes(EDGE), printed);
    }
  });

  it("checks owners: a member of the organization, with a role the token does not exceed", () => {
    assert.deepEqual(
      problems(
        yaml(
          "version: 1",
          "users: [{ name: alice }, { name: bob }]",
          "organizations:",
          "  - identifier: acme",
          "    members:",
          "      - { user: alice, role: editor }",
          "      - { user: bob, role: viewer }",
          "      - { user: carol, role: admin }",
          "    tokens:",
          "      - { name: a, kind: all-access, owner: alice, generate: true }",
          "      - name: b",
          "        kind: read-write",
          "        owner: bob",
          "        permissions: { bucket_access: [{ bucket: logs, read: true, write: true }] }",
          "        generate: true",
          "      - { name: c, kind: all-access, owner: dave, generate: true }",
          "      - { name: d, kind: ingestion, owner: alice, generate: true }",
          "      - { name: e, kind: read-write, permissions: { bucket_access: [{ bucket: logs, read: true }] }, generate: true }",
        ),
        { valuesOut: "v.json" },
      ),
      [
        '8:17 organizations[0].members[2].user: user "carol" is not in the manifest\'s users: add it there',
        "10:45 organizations[0].tokens[0].owner: an all-access token would exceed alice's editor role: make the user an admin, or use a read-write token",
        '14:75 organizations[0].tokens[1].permissions.bucket_access[0].write: write access would exceed bob\'s viewer role in "acme"',
        '16:45 organizations[0].tokens[2].owner: user "dave" is not a member of organization "acme": add it to members',
        "17:44 organizations[0].tokens[3].owner: does not apply to ingestion tokens: they belong to the organization",
        "18:9 organizations[0].tokens[4].owner: is required for read-write tokens: the user whose role bounds the token",
      ],
    );
  });

  it("reports permissions a kind does not take, unknown signals, grants of nothing and bad expiries", () => {
    assert.deepEqual(
      problems(
        yaml(
          "version: 1",
          "organizations:",
          "  - identifier: acme",
          "    tokens:",
          "      - name: a",
          "        kind: ingestion",
          "        permissions: { signals: [logs, profiles, logs], dashboards: [x] }",
          "        expire_time: 2020-01-01T00:00:00Z",
          "        generate: true",
          "      - name: b",
          "        kind: read-write",
          "        owner: alice",
          "        permissions: { bucket_access: [{ bucket: logs }] }",
          "        expire_time: tomorrow",
          "        generate: true",
          "      - { name: c, kind: verifier, expire_time: 2027-01-01T00:00:00Z, expires_in: 1d, generate: true }",
          "      - { name: d, kind: verifier, expires_in: 3 weeks, generate: true }",
        ),
        { valuesOut: "v.json" },
      ),
      [
        "7:40 organizations[0].tokens[0].permissions.signals[1]: is not a signal: use logs, metrics or traces",
        '7:50 organizations[0].tokens[0].permissions.signals[2]: names signal "logs" twice',
        "7:69 organizations[0].tokens[0].permissions.dashboards: does not apply to ingestion tokens (only to shared)",
        "8:22 organizations[0].tokens[0].expire_time: is in the past",
        '13:40 organizations[0].tokens[1].permissions.bucket_access[0]: grants neither read nor write on bucket "logs": set read: true, write: true or both',
        "14:22 organizations[0].tokens[1].expire_time: is not an RFC 3339 time: use e.g. 2026-12-31T00:00:00Z",
        "16:83 organizations[0].tokens[2].expires_in: give either expire_time or expires_in, not both",
        "17:48 organizations[0].tokens[3].expires_in: is not a duration: use a number and a unit (s, m, h, d, w), e.g. 24h, 90m, 7d or 1h30m",
      ],
    );
  });

  it("reports a missing value source, generate without a values file, and two sources at once", () => {
    assert.deepEqual(
      problems(
        yaml(
          "version: 1",
          "organizations:",
          "  - identifier: acme",
          "    tokens:",
          "      - { name: a, kind: verifier }",
          "      - { name: b, kind: verifier, generate: true }",
          "      - { name: c, kind: verifier, generate: true, value_file: c.token }",
          "      - { name: default, generate: false }",
        ),
      ),
      [
        "5:9 organizations[0].tokens[0]: needs a value source: value_from_env: VARIABLE, value_file: PATH, or generate: true",
        "6:46 organizations[0].tokens[1].generate: generate: true needs a file to write the value to: --values-out FILE, or values_out in the manifest",
        "7:64 organizations[0].tokens[2].value_file: give one of value_from_env, value_file and generate, not both generate and value_file",
        "8:36 organizations[0].tokens[3].generate: generate: false means nothing: leave it out and give value_from_env or value_file, or say generate: true",
      ],
    );
  });

  it("reports organization structure problems: parents, parent access, cycles", () => {
    assert.deepEqual(
      problems(
        yaml(
          "version: 1",
          "organizations:",
          "  - identifier: top",
          "    parent_access: false",
          "  - identifier: a",
          "    parent: b",
          "  - identifier: b",
          "    parent: a",
          "    organizations:",
          "      - identifier: c",
          "        parent: a",
          "  - identifier: d",
          "    parent: d",
        ),
      ),
      [
        "4:20 organizations[0].parent_access: applies only to sub-organizations (nested, or with a parent)",
        'organizations[1].parent: organization "a" would be its own ancestor'.replace(/^/, "6:13 "),
        'organizations[2].parent: organization "b" would be its own ancestor'.replace(/^/, "8:13 "),
        "11:17 organizations[2].organizations[0].parent: a nested organization's parent is the one it is nested in: leave parent out",
        "13:13 organizations[3].parent: an organization cannot be its own parent",
      ],
    );
  });

  it("reports a missing or unknown version and an empty file", () => {
    assert.deepEqual(problems(yaml("organizations: []")), ["1:1 version: is required: version: 1"]);
    assert.deepEqual(problems(yaml("version: 2")), ["1:10 version: must be 1: the only version this Tessera reads"]);
    assert.deepEqual(problems(""), ["1:1 : the manifest is empty: it starts with version: 1"]);
  });

  it("reports YAML syntax errors with their position, without quoting the text", () => {
    const got = problems(
      yaml("version: 1", "organizations:", "  - identifier: acme", "    identifier: again", `    name: "bad \\q ${OTHER}"`),
    );
    assert.deepEqual(got, ["4:5 : YAML: Map keys must be unique", "5:16 : YAML: invalid escape sequence in a double-quoted string"]);
  });

  it("takes --values-out over the file's values_out", () => {
    const d = desired(yaml("version: 1", "values_out: in-file.json"), { valuesOut: "flag.json" });
    assert.deepEqual(d.valuesOut, { file: "flag.json", source: "flag" });
  });

  it("resolves aliases, and stops a document that expands them without end", () => {
    const d = desired(
      yaml(
        "version: 1",
        "organizations:",
        "  - identifier: acme",
        "    tokens:",
        "      - { name: a, kind: ingestion, permissions: &p { signals: [logs] }, generate: true }",
        "      - { name: b, kind: ingestion, permissions: *p, generate: true }",
      ),
      { valuesOut: "v.json" },
    );
    assert.deepEqual(d.organizations[0]!.tokens[1]!.permissions, { signals: ["LOGS"] });

    // Each level lists ten sub-organizations whose own sub-organizations are the level before: 10^6 walks.
    const bomb = ["version: 1", "organizations:", "  - identifier: l0", "    organizations: &l0 [{ identifier: x }]"];
    for (let i = 1; i <= 6; i++) {
      bomb.push(
        `  - identifier: l${i}`,
        `    organizations: &l${i} [${Array(10)
          .fill(`{ identifier: x${i}, organizations: *l${i - 1} }`)
          .join(", ")}]`,
      );
    }
    const got = problems(yaml(...bomb));
    assert.equal(got.length, 1, got.join("\n"));
    assert.match(
      got[0]!,
      /^\d+:\d+ organizations\[\d\](\.organizations\[\d\])+\.organizations: YAML: more than 1000 alias uses; write the values out$/,
    );
  });
});

/**
 * The README's configuration tables and the code that reads the environment cannot drift apart:
 * every variable and flag src/config.ts reads is a row of the server table (with its default, where
 * the code states one as a literal), every variable the CLI reads is a row of the CLI table, and
 * every name in either table is read by the code it describes. Sources are parsed with the
 * TypeScript compiler, not searched as text, so a comment or a string that merely names a
 * variable counts for nothing, and a read the parser cannot name (a computed `env[key]`) fails
 * the test instead of passing unseen.
 */
import assert from "node:assert/strict";
import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = (p: string) => fileURLToPath(new URL(`../../../${p}`, import.meta.url));

// ---- the code: what it reads ------------------------------------------------------------------

interface Reads {
  /** Environment variable → the default the code gives it as a literal, if any. */
  env: Map<string, string | undefined>;
  /** Flags read from a `flags` object (`flags.host`, `flags["data-dir"]`), as `--name`. */
  flags: Set<string>;
}

/**
 * Files that read the environment by a name the user passes in a flag (`tessera auth create
 * --value-from-env NAME`): such a variable holds a value the user brings, it configures nothing,
 * so it has no row in any table. Only these files may read the environment by a computed name.
 */
const USER_NAMED_READS = new Set(["src/cli/value-source.ts"]);

/** `env`, `process.env`, `ctx.env`: anything named env that names are read from. */
const isEnv = (e: ts.Expression): boolean =>
  (ts.isIdentifier(e) && e.text === "env") || (ts.isPropertyAccessExpression(e) && e.name.text === "env");
const isFlags = (e: ts.Expression): boolean => ts.isIdentifier(e) && e.text === "flags";

/** The literal default of a read: `positive("…", env.X, 16, …)`, `port(…, a ?? env.X, 8080)`, `a ?? env.X ?? "lit"`. */
function literalDefault(read: ts.Expression): string | undefined {
  let node: ts.Node = read;
  let top: ts.BinaryExpression | undefined;
  while (
    ts.isParenthesizedExpression(node.parent) ||
    (ts.isBinaryExpression(node.parent) && node.parent.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken)
  ) {
    node = node.parent;
    if (ts.isBinaryExpression(node)) top = node;
  }
  const call = node.parent;
  if (
    ts.isCallExpression(call) &&
    ts.isIdentifier(call.expression) &&
    ["positive", "port"].includes(call.expression.text) &&
    call.arguments[1] === node
  ) {
    const d = call.arguments[2];
    if (d !== undefined && ts.isNumericLiteral(d)) return d.text.replaceAll("_", "");
  }
  if (top !== undefined && ts.isStringLiteral(top.right)) return top.right.text;
  return undefined;
}

/** With `withFlags`, also the flags read from a `flags` object (config.ts's; the CLI's commands parse theirs differently). */
function readsOf(source: string, file: string, withFlags = false): Reads {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const reads: Reads = { env: new Map(), flags: new Set() };
  const where = (n: ts.Node) => `${file}:${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1}`;
  const visit = (n: ts.Node): void => {
    if (ts.isPropertyAccessExpression(n) && isEnv(n.expression)) {
      reads.env.set(n.name.text, literalDefault(n));
    } else if (ts.isElementAccessExpression(n) && (isEnv(n.expression) || (withFlags && isFlags(n.expression)))) {
      const arg = n.argumentExpression;
      if (!ts.isStringLiteralLike(arg)) {
        // The one read whose name the user gives on the command line: configuration of nothing.
        if (USER_NAMED_READS.has(file) && isEnv(n.expression)) return;
        throw new Error(`${where(n)} reads ${n.expression.getText()} by a computed name; this test cannot tell which`);
      }
      if (isEnv(n.expression)) reads.env.set(arg.text, literalDefault(n));
      else reads.flags.add(`--${arg.text}`);
    } else if (withFlags && ts.isPropertyAccessExpression(n) && isFlags(n.expression)) {
      reads.flags.add(`--${n.name.text}`);
    } else if (ts.isVariableDeclaration(n) && n.initializer !== undefined && isEnv(n.initializer) && ts.isObjectBindingPattern(n.name)) {
      for (const el of n.name.elements) {
        const key = el.propertyName ?? el.name;
        if (el.dotDotDotToken !== undefined || !ts.isIdentifier(key))
          throw new Error(`${where(el)} destructures the environment in a way this test cannot name`);
        reads.env.set(key.text, undefined);
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return reads;
}

async function sources(dir: string): Promise<Array<{ file: string; text: string }>> {
  const names = (await readdir(root(dir), { recursive: true })).filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"));
  return Promise.all(
    names.sort().map(async (f) => ({
      file: path.posix.join(dir, f.split(path.sep).join("/")),
      text: await readFile(root(path.join(dir, f)), "utf8"),
    })),
  );
}

// ---- the README: what its tables say ----------------------------------------------------------

interface Row {
  flags: string[];
  env: string[];
  default: string;
  line: number;
}
interface Table {
  /** The `###` heading the table sits under inside `## Configuration`. */
  heading: string;
  rows: Row[];
}

const cells = (line: string) =>
  line
    .trim()
    .replace(/^\||\|$/g, "")
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
const ticked = (cell: string, re: RegExp) => [...cell.matchAll(re)].map((m) => m[1]!);

/** The tables with an `environment` column in the README's `## Configuration` section (code blocks skipped). */
function configurationTables(readme: string): Table[] {
  const lines = readme.split("\n");
  const start = lines.findIndex((l) => /^## Configuration\s*$/.test(l));
  if (start < 0) throw new Error("the README has no '## Configuration' section");
  const tables: Table[] = [];
  let heading = "";
  let fenced = false;
  for (let i = start + 1; i < lines.length; i++) {
    const l = lines[i]!;
    if (/^```/.test(l)) fenced = !fenced;
    if (fenced) continue;
    if (/^## /.test(l)) break;
    if (/^### /.test(l)) heading = l.slice(4).trim();
    if (!l.startsWith("|") || lines[i - 1]?.startsWith("|")) continue;
    const header = cells(l).map((c) => c.toLowerCase());
    const col = (name: string) => header.indexOf(name);
    let j = i + 2; // past the header and its |---| line
    const rows: Row[] = [];
    for (; j < lines.length && lines[j]!.startsWith("|"); j++) {
      const c = cells(lines[j]!);
      rows.push({
        flags: col("flag") < 0 ? [] : ticked(c[col("flag")] ?? "", /`(--[a-z0-9-]+)`/g),
        env: ticked(c[col("environment")] ?? "", /`([A-Z][A-Z0-9_]*)`/g),
        default: c[col("default")] ?? "",
        line: j + 1,
      });
    }
    if (col("environment") >= 0) tables.push({ heading, rows });
    i = j - 1;
  }
  if (tables.length === 0) throw new Error("the README's Configuration section has no table with an 'environment' column");
  return tables;
}

function table(tables: Table[], heading: RegExp): Table {
  const t = tables.find((x) => heading.test(x.heading));
  if (t === undefined)
    throw new Error(
      `no configuration table under a heading matching ${heading} (found: ${tables.map((x) => x.heading || "a table under no ### heading").join(", ")})`,
    );
  return t;
}

/** A default cell shows `expected` (numbers compared without thousands separators). */
function showsDefault(cell: string, expected: string): boolean {
  if (!/^\d+$/.test(expected)) return cell.includes(expected);
  return new RegExp(`(^|[^\\d.])${expected}($|[^\\d])`).test(cell.replace(/(\d)[,_](?=\d{3})/g, "$1"));
}

/** What is wrong between one README table and the reads of the code it documents; [] when nothing. */
function tableProblems(t: Table, reads: Reads, what: string): string[] {
  const problems: string[] = [];
  const rowOf = new Map(t.rows.flatMap((r) => r.env.map((n) => [n, r] as const)));
  const flagsListed = new Set(t.rows.flatMap((r) => r.flags));
  for (const [name, def] of reads.env) {
    const row = rowOf.get(name);
    if (row === undefined) problems.push(`${name} is read by ${what} but is not in the README's "${t.heading}" table`);
    else if (def !== undefined && !showsDefault(row.default, def))
      problems.push(`${name}: the README (line ${row.line}) says the default is "${row.default}", ${what} says ${def}`);
  }
  for (const f of reads.flags)
    if (!flagsListed.has(f)) problems.push(`${f} is read by ${what} but is not in the README's "${t.heading}" table`);
  for (const name of rowOf.keys())
    if (!reads.env.has(name)) problems.push(`${name} is in the README's "${t.heading}" table but ${what} does not read it`);
  for (const f of flagsListed)
    if (reads.flags.size > 0 && !reads.flags.has(f))
      problems.push(`${f} is in the README's "${t.heading}" table but ${what} does not read it`);
  return problems;
}

const merge = (all: Reads[]): Reads => ({
  env: new Map(all.flatMap((r) => [...r.env])),
  flags: new Set(all.flatMap((r) => [...r.flags])),
});

// ---- the tests --------------------------------------------------------------------------------

describe("the README's configuration tables", () => {
  let readme: string;
  let server: Reads;
  let cli: Reads;
  let everywhere: Reads;

  before(async () => {
    readme = await readFile(root("README.md"), "utf8");
    server = readsOf(await readFile(root("src/config.ts"), "utf8"), "src/config.ts", true);
    cli = merge((await sources("src/cli")).map((s) => readsOf(s.text, s.file)));
    everywhere = merge((await sources("src")).filter((s) => !s.file.startsWith("src/gen/")).map((s) => readsOf(s.text, s.file)));
  });

  it("are found, and so are the variables the code reads (or nothing below would prove anything)", () => {
    const tables = configurationTables(readme);
    assert.ok(table(tables, /server/i).rows.length >= 10, "the server table has its rows");
    assert.ok(table(tables, /\bCLI\b/).rows.length >= 3, "the CLI table has its rows");
    for (const name of ["TESSERA_GRPC_PORT", "DATABASE_URL", "TESSERA_FEED_POLL_MS", "TESSERA_FEED_FRESH_MS"])
      assert.ok(server.env.has(name), `config.ts reads ${name}`);
    assert.equal(server.env.get("TESSERA_POOL_SIZE"), "16", "literal defaults are extracted");
    assert.equal(server.env.get("TESSERA_HOST"), "127.0.0.1", "literal defaults are extracted");
    assert.ok(server.flags.has("--data-dir") && server.flags.has("--host"), "flags are extracted");
    assert.ok(cli.env.has("TESSERA_CONFIG") && cli.env.has("TESSERA_URL"), "the CLI's reads are extracted");
  });

  it("list every variable and flag src/config.ts reads, with its default, and nothing it does not", () => {
    assert.deepEqual(tableProblems(table(configurationTables(readme), /server/i), server, "src/config.ts"), []);
  });

  it("list every variable the CLI (src/cli/) reads, and nothing it does not", () => {
    assert.deepEqual(tableProblems(table(configurationTables(readme), /\bCLI\b/), { env: cli.env, flags: new Set() }, "src/cli/"), []);
  });

  it("list every variable read anywhere in src/", () => {
    const listed = new Set(configurationTables(readme).flatMap((t) => t.rows.flatMap((r) => r.env)));
    assert.deepEqual(
      [...everywhere.env.keys()].filter((n) => !listed.has(n)),
      [],
    );
  });

  describe("would fail", () => {
    /** The text without the row whose environment cell is `name`. */
    const without = (text: string, name: string) =>
      text
        .split("\n")
        .filter((l) => !(l.startsWith("|") && l.includes(`| \`${name}\` |`)))
        .join("\n");

    it("for a variable config.ts reads that has no row", () => {
      const edited = without(readme, "TESSERA_FEED_POLL_MS");
      assert.deepEqual(tableProblems(table(configurationTables(edited), /server/i), server, "src/config.ts"), [
        `TESSERA_FEED_POLL_MS is read by src/config.ts but is not in the README's "${table(configurationTables(readme), /server/i).heading}" table`,
      ]);
    });

    it("for a variable mentioned only in prose, or in a table outside the Configuration section", () => {
      const prose = without(readme, "TESSERA_FEED_FRESH_MS").replace("### The CLI", "Also `TESSERA_FEED_FRESH_MS` (3000).\n\n### The CLI");
      const elsewhere = `${without(readme, "TESSERA_FEED_FRESH_MS")}\n\n## Appendix\n\n| flag | environment | default |\n|---|---|---|\n| | \`TESSERA_FEED_FRESH_MS\` | 3000 |\n`;
      for (const text of [prose, elsewhere]) {
        const problems = tableProblems(table(configurationTables(text), /server/i), server, "src/config.ts");
        assert.equal(problems.length, 1, problems.join("\n"));
        assert.match(problems[0]!, /^TESSERA_FEED_FRESH_MS is read by src\/config\.ts but is not in/);
      }
    });

    it("for a row the code does not read, or a stale default", () => {
      const extra = readme.replace("| | `TESSERA_POOL_SIZE` | 16 |", "| | `TESSERA_POOL_SIZE` | 32 |\n| | `TESSERA_RETIRED` | 5 | gone |");
      assert.deepEqual(
        tableProblems(table(configurationTables(extra), /server/i), server, "src/config.ts").map((p) => p.replace(/line \d+/, "line N")),
        [
          'TESSERA_POOL_SIZE: the README (line N) says the default is "32", src/config.ts says 16',
          `TESSERA_RETIRED is in the README's "${table(configurationTables(readme), /server/i).heading}" table but src/config.ts does not read it`,
        ],
      );
    });

    it("for a new read in config.ts, however it is written, and a comment naming one counts for nothing", () => {
      const src = [
        "// env.TESSERA_IN_A_COMMENT is not read",
        'const a = env.TESSERA_GRPC_PORT, b = env["TESSERA_BRACKETED"], c = ctx.env.TESSERA_CTX, d = process.env.TESSERA_PROCESS;',
        "const { TESSERA_DESTRUCTURED, OTHER: renamed } = env;",
        'const e = positive("X", flags.workers ?? env.TESSERA_WITH_DEFAULT, 1_000, 5);',
        'const s = "env.TESSERA_IN_A_STRING";',
      ].join("\n");
      const r = readsOf(src, "synthetic.ts", true);
      assert.deepEqual([...r.env.keys()].sort(), [
        "OTHER",
        "TESSERA_BRACKETED",
        "TESSERA_CTX",
        "TESSERA_DESTRUCTURED",
        "TESSERA_GRPC_PORT",
        "TESSERA_PROCESS",
        "TESSERA_WITH_DEFAULT",
      ]);
      assert.equal(r.env.get("TESSERA_WITH_DEFAULT"), "1000");
      assert.deepEqual([...r.flags], ["--workers"]);
    });

    it("loudly, when the code reads a name it cannot tell, or the README has no table to check", () => {
      assert.throws(() => readsOf("const v = env[name];", "computed.ts"), /computed\.ts:1 reads env by a computed name/);
      assert.throws(() => readsOf("const v = flags[name];", "computed.ts", true), /computed\.ts:1 reads flags by a computed name/);
      assert.throws(() => readsOf("const { ...all } = env;", "rest.ts"), /rest\.ts:1 destructures the environment/);
      assert.throws(() => configurationTables(readme.replace("## Configuration", "## Settings")), /no '## Configuration' section/);
      assert.throws(() => table(configurationTables(readme), /nonexistent/), /no configuration table/);
    });
  });
});

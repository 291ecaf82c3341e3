/**
 * Reading a YAML document node by node, with positions. `yaml`'s document API keeps every node's
 * offset, so each problem can say where it is (line:column) as well as what path it has; plain
 * `YAML.parse` would lose both. Problems are collected, never thrown: a manifest with five
 * mistakes gets five messages in one run.
 *
 * YAML 1.2's core schema is used, so `yes`, `on` and `2026-01-01` stay strings (no YAML 1.1
 * surprises), merge keys (`<<`) are ordinary keys (and so unknown fields), and a key written twice
 * is an error. Messages never quote the file's text: a token value pasted into the wrong place
 * must not end up in a terminal or a CI log.
 */
import { isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node, type YAMLError } from "yaml";
import type { Pos, Problem } from "./desired.js";

/** Aliases (`*name`) resolved at most this many times: a "billion laughs" document stops here. */
const MAX_ALIAS_USES = 1000;

/** yaml's own messages, kept where they cannot contain the file's text. */
const SAFE_YAML_CODES = new Set([
  "DUPLICATE_KEY",
  "BAD_INDENT",
  "TAB_AS_INDENT",
  "MULTIPLE_DOCS",
  "MULTILINE_IMPLICIT_KEY",
  "BLOCK_AS_IMPLICIT_KEY",
  "BLOCK_IN_FLOW",
  "KEY_OVER_1024_CHARS",
  "MISSING_CHAR",
  "MULTIPLE_ANCHORS",
  "MULTIPLE_TAGS",
  "ALIAS_PROPS",
  "BAD_ALIAS",
  "BAD_DIRECTIVE",
  "NON_STRING_KEY",
]);

const GENERIC_YAML_MESSAGES: Readonly<Record<string, string>> = {
  BAD_DQ_ESCAPE: "invalid escape sequence in a double-quoted string",
  BAD_SCALAR_START: "a plain value cannot start with this character; put the value in quotes",
  TAG_RESOLVE_FAILED: "unknown YAML tag; manifests use no tags",
  BAD_COLLECTION_TYPE: "this YAML tag does not fit the value",
  BAD_PROP_ORDER: "anchors and tags must come after the indicator",
};

function yamlMessage(e: YAMLError): string {
  if (SAFE_YAML_CODES.has(e.code)) return `YAML: ${e.message.split("\n")[0]}`;
  return `YAML: ${GENERIC_YAML_MESSAGES[e.code] ?? "syntax error (check the indentation, quotes and punctuation)"}`;
}

export type Value = Node | null;

export class Tree {
  readonly problems: Problem[] = [];
  readonly positions = new Map<string, Pos>();
  readonly root: Value;
  readonly #doc: Document.Parsed;
  readonly #lineStarts: number[] = [0];
  #aliasUses = 0;
  /** Set when the alias limit is hit: the one problem worth reporting then. */
  aliasLimit: Problem | undefined;

  private constructor(text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.#lineStarts.push(i + 1);
    this.#doc = parseDocument(text, { version: "1.2", schema: "core", merge: false, uniqueKeys: true, prettyErrors: false });
    for (const e of this.#doc.errors) this.problem("", this.posAt(e.pos[0]), yamlMessage(e));
    this.root = this.#doc.errors.length > 0 ? null : ((this.#doc.contents as Node | null) ?? null);
  }

  /** Parses `text`; with syntax errors, `root` is null and the errors are in `problems`. */
  static parse(text: string): Tree {
    return new Tree(text);
  }

  get failed(): boolean {
    return this.problems.length > 0;
  }

  posAt(offset: number): Pos {
    let lo = 0;
    let hi = this.#lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - this.#lineStarts[lo]! + 1 };
  }

  posOf(node: Node): Pos {
    return this.posAt(node.range?.[0] ?? 0);
  }

  problem(path: string, at: Pos, message: string): void {
    this.problems.push({ path, line: at.line, col: at.col, message });
  }

  /** Records where `path` is, and returns its node with aliases resolved. */
  at(path: string, node: Value, fallback: Pos): Value {
    this.positions.set(path, node === null ? fallback : this.posOf(node));
    let n = node;
    while (n !== null && isAlias(n)) {
      if (this.aliasLimit !== undefined) return null;
      if (++this.#aliasUses > MAX_ALIAS_USES) {
        const at = this.posOf(n);
        this.aliasLimit = {
          path,
          line: at.line,
          col: at.col,
          message: `YAML: more than ${MAX_ALIAS_USES} alias uses; write the values out`,
        };
        return null;
      }
      n = (n.resolve(this.#doc) as Node | undefined) ?? null;
    }
    return n;
  }

  /**
   * A mapping's fields by name. A field not in `fields` is an unknown field, reported at its key;
   * a value that is not a mapping is reported as such and gives undefined.
   */
  mapping(path: string, node: Value, fields: readonly string[], what: string): Map<string, { node: Value; pos: Pos }> | undefined {
    if (node === null || !isMap(node)) {
      this.problem(path, this.posOr(node, path), `must be a mapping (${what})`);
      return undefined;
    }
    const out = new Map<string, { node: Value; pos: Pos }>();
    for (const pair of node.items) {
      const key = pair.key as Value;
      const keyPos = key === null ? this.posOf(node) : this.posOf(key);
      const name = key !== null && isScalar(key) && typeof key.value === "string" ? key.value : undefined;
      const valuePos = pair.value === null ? keyPos : this.posOf(pair.value as Node);
      if (name === undefined || !fields.includes(name)) {
        const shown = name === undefined ? undefined : fieldName(name);
        const where = shown === undefined ? path : join(path, shown);
        const what_ = shown === undefined ? "an unknown field" : `unknown field "${shown}"`;
        this.problem(where, keyPos, `${what_} in ${what}; known fields: ${fields.join(", ")}`);
        continue;
      }
      out.set(name, { node: (pair.value as Node | null) ?? null, pos: valuePos });
    }
    return out;
  }

  /** Every entry of a mapping whose keys are free (a filter map); keys must be strings. */
  entries(path: string, node: Value, what: string): Array<{ key: string; node: Value; pos: Pos }> | undefined {
    if (node === null || !isMap(node)) {
      this.problem(path, this.posOr(node, path), `must be a mapping (${what})`);
      return undefined;
    }
    const out: Array<{ key: string; node: Value; pos: Pos }> = [];
    let ok = true;
    for (const pair of node.items) {
      const key = pair.key as Value;
      const keyPos = key === null ? this.posOf(node) : this.posOf(key);
      if (key === null || !isScalar(key) || typeof key.value !== "string") {
        this.problem(path, keyPos, `keys must be strings (${what}); put the key in quotes`);
        ok = false;
        continue;
      }
      out.push({
        key: key.value,
        node: (pair.value as Node | null) ?? null,
        pos: pair.value === null ? keyPos : this.posOf(pair.value as Node),
      });
    }
    return ok ? out : undefined;
  }

  /** A sequence's items; anything else is reported and gives undefined. */
  sequence(path: string, node: Value, what: string): Value[] | undefined {
    if (node === null || !isSeq(node)) {
      this.problem(path, this.posOr(node, path), `must be a list (${what})`);
      return undefined;
    }
    return node.items.map((item) => (item as Node | null) ?? null);
  }

  string(path: string, node: Value): string | undefined {
    if (node !== null && isScalar(node) && typeof node.value === "string") return node.value;
    this.problem(path, this.posOr(node, path), node === null ? "must be a string, got nothing" : typeMessage(node, "a string"));
    return undefined;
  }

  boolean(path: string, node: Value): boolean | undefined {
    if (node !== null && isScalar(node) && typeof node.value === "boolean") return node.value;
    this.problem(path, this.posOr(node, path), node === null ? "must be true or false, got nothing" : typeMessage(node, "true or false"));
    return undefined;
  }

  integer(path: string, node: Value): number | undefined {
    if (node !== null && isScalar(node) && typeof node.value === "number" && Number.isInteger(node.value)) return node.value;
    this.problem(path, this.posOr(node, path), node === null ? "must be a number, got nothing" : typeMessage(node, "a whole number"));
    return undefined;
  }

  posOr(node: Value, path: string): Pos {
    return node === null ? (this.positions.get(path) ?? { line: 1, col: 1 }) : this.posOf(node);
  }
}

function typeMessage(node: Node, wanted: string): string {
  if (isMap(node)) return `must be ${wanted}, not a mapping`;
  if (isSeq(node)) return `must be ${wanted}, not a list`;
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return `must be ${wanted}, got nothing`;
    if (wanted === "a string") return `must be a string, not a ${typeof v === "boolean" ? "boolean" : "number"}; put it in quotes`;
    return `must be ${wanted}, not ${typeof v === "string" ? "a string" : typeof v === "boolean" ? "a boolean" : "a number"}`;
  }
  return `must be ${wanted}`;
}

/** `a.b`, `a[0]`: the path syntax problems are reported in. */
export function join(path: string, field: string | number): string {
  if (typeof field === "number") return `${path}[${field}]`;
  return path === "" ? field : `${path}.${field}`;
}

/**
 * An unknown key, if it may be shown: one that looks like a field name (lowercase letters and
 * "_", as every manifest field is). Anything else might be a token value pasted as a key, and is
 * never repeated.
 */
function fieldName(name: string): string | undefined {
  return /^[a-z][a-z_]{0,23}$/.test(name) ? name : undefined;
}

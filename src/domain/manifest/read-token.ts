/**
 * One entry of an organization's `tokens:` list: name, kind, description, owner, permissions,
 * expiry and where its value comes from. Every rule is the one CreateToken applies (names.ts,
 * token-rules.ts, token-format.ts), reported here with the entry's path instead of a request
 * field, and all of them at once.
 */
import { createHash } from "node:crypto";
import { isTesseraError } from "../errors.js";
import type { BucketGrant, Permissions, SignalName } from "../model.js";
import { validateBucketName, validateDescription, validateTokenName, validateUserName } from "../names.js";
import { parseDurationText, parseRfc3339 } from "../time-text.js";
import type { TokenKind } from "../token-format.js";
import {
  DEFAULT_TOKEN,
  MAX_PERMISSION_ENTRIES,
  PERMISSION_FIELDS,
  USER_BOUND_KINDS,
  isPermissionText,
  missingForKind,
  type PermissionField,
} from "../token-rules.js";
import { SecretValue, type DesiredToken, type Expiry, type ValueSource } from "./desired.js";
import { valueProblem } from "./value-check.js";
import { join, type Tree, type Value } from "./yaml-tree.js";

/** What reading a token's value needs from outside: the environment and the files beside the manifest. */
export interface ValueInputs {
  /** The environment variable `value_from_env` names, or undefined when it is not set. */
  variable(name: string): string | undefined;
  /** A `value_file`'s text (its path as written: relative to the manifest); or why it cannot be read. */
  readValueFile(path: string): { ok: true; text: string } | { ok: false; problem: string };
}

/** How the manifest spells kinds, signals and roles: as the CLI's flags do. */
const KIND_NAMES: Readonly<Record<string, TokenKind>> = {
  ingestion: "INGESTION",
  "all-access": "ALL_ACCESS",
  "read-write": "READ_WRITE",
  shared: "SHARED",
  verifier: "VERIFIER",
};

const SIGNAL_NAMES: Readonly<Record<string, SignalName>> = { logs: "LOGS", metrics: "METRICS", traces: "TRACES" };

export const kindText = (k: TokenKind): string => k.toLowerCase().replaceAll("_", "-");

const TOKEN_FIELDS = [
  "name",
  "kind",
  "description",
  "owner",
  "permissions",
  "expire_time",
  "expires_in",
  "value_from_env",
  "value_file",
  "generate",
] as const;

const PERMISSION_KEYS: Readonly<Record<PermissionField, string>> = {
  signals: "signals",
  buckets: "buckets",
  bucketAccess: "bucket_access",
  dashboards: "dashboards",
  filters: "filters",
};

/** Runs a names.ts validator and reports its message (which never quotes a secret) at `path`. */
export function check(tree: Tree, path: string, node: Value, validate: () => unknown): boolean {
  try {
    validate();
    return true;
  } catch (err) {
    if (!isTesseraError(err)) throw err;
    tree.problem(path, tree.posOr(node, path), err.publicMessage);
    return false;
  }
}

export interface TokenContext {
  tree: Tree;
  inputs: ValueInputs;
  now: number;
  /** Digests of the values read so far, to catch one value given to two tokens (never compared as text). */
  seenValues: Map<string, string>;
}

export function readToken(ctx: TokenContext, path: string, node: Value): DesiredToken | undefined {
  const { tree } = ctx;
  const f = tree.mapping(path, node, TOKEN_FIELDS, "a token");
  if (f === undefined) return undefined;
  const field = (name: string) => {
    const e = f.get(name);
    return e === undefined ? undefined : { path: join(path, name), node: tree.at(join(path, name), e.node, e.pos) };
  };
  const at = tree.posOr(node, path);
  let ok = true;

  const nameF = field("name");
  let name: string | undefined;
  if (nameF === undefined) {
    tree.problem(join(path, "name"), at, "is required (the token's name)");
    ok = false;
  } else {
    name = tree.string(nameF.path, nameF.node);
    if (name === undefined || !check(tree, nameF.path, nameF.node, () => validateTokenName(name!))) ok = false;
  }

  const kindF = field("kind");
  let kind: TokenKind | undefined;
  if (kindF === undefined && name === DEFAULT_TOKEN.name) {
    kind = "INGESTION"; // the default token's kind goes without saying
  } else if (kindF === undefined) {
    tree.problem(join(path, "kind"), at, `is required: one of ${Object.keys(KIND_NAMES).join(", ")}`);
    ok = false;
  } else {
    const raw = tree.string(kindF.path, kindF.node);
    if (raw === "operator") {
      tree.problem(
        kindF.path,
        tree.posOr(kindF.node, kindF.path),
        "operator tokens are not provisioned by a manifest: tessera setup and tessera recovery make them",
      );
    } else if (raw !== undefined) {
      kind = Object.hasOwn(KIND_NAMES, raw) ? KIND_NAMES[raw] : undefined;
      if (kind === undefined)
        tree.problem(
          kindF.path,
          tree.posOr(kindF.node, kindF.path),
          `is not a token kind: use one of ${Object.keys(KIND_NAMES).join(", ")}`,
        );
    }
    if (kind === undefined) ok = false;
  }

  const isDefault = name === DEFAULT_TOKEN.name;
  // Left out, a description is what creation gives: empty, or the default token's own.
  let description = isDefault ? DEFAULT_TOKEN.description : "";
  const descF = field("description");
  if (descF !== undefined) {
    const d = tree.string(descF.path, descF.node);
    if (d === undefined || !check(tree, descF.path, descF.node, () => validateDescription(d))) ok = false;
    else description = d;
  }

  if (isDefault && kind !== undefined && kind !== "INGESTION") {
    tree.problem(kindF!.path, tree.posOr(kindF!.node, kindF!.path), "the default token is an ingestion token: its organization makes it");
    ok = false;
  }
  if (isDefault) {
    for (const extra of ["owner", "permissions", "expire_time", "expires_in", "value_from_env", "value_file"]) {
      const e = field(extra);
      if (e === undefined) continue;
      tree.problem(
        e.path,
        tree.posOr(e.node, e.path),
        "does not apply to the default token: its organization makes it, for every signal and bucket; only description and generate: true (keep the value it is made with) may be given",
      );
      ok = false;
    }
  }

  const owner = kind === undefined ? null : readOwner(tree, path, at, kind, field("owner"));
  if (owner === undefined) ok = false;

  const permissions = kind === undefined || isDefault ? {} : readPermissions(tree, join(path, "permissions"), kind, field("permissions"));
  if (permissions === undefined) ok = false;

  const expiry = isDefault ? { kind: "never" as const } : readExpiry(ctx, field("expire_time"), field("expires_in"));
  if (expiry === undefined) ok = false;

  if (kind !== undefined && permissions !== undefined && expiry !== undefined) {
    for (const missing of missingForKind(kind, permissions, expiry.kind !== "never")) {
      tree.problem(
        path,
        at,
        missing === "expiry"
          ? "a shared token needs an expiry: expire_time or expires_in"
          : missing === "dashboards"
            ? "a shared token needs at least one dashboard in permissions.dashboards"
            : "a read-write token needs at least one bucket in permissions.bucket_access",
      );
      ok = false;
    }
  }

  const value = readValueSource(ctx, path, at, kind, isDefault, field);
  if (value === undefined) ok = false;

  if (!ok || name === undefined || kind === undefined || owner === undefined || permissions === undefined) return undefined;
  if (expiry === undefined || value === undefined) return undefined;
  return { path, name, kind, description, owner, permissions, expiry, value };
}

type Field = { path: string; node: Value } | undefined;

/** null: the kind has no owner; undefined: a problem was reported. */
function readOwner(tree: Tree, path: string, at: { line: number; col: number }, kind: TokenKind, f: Field): string | null | undefined {
  const bound = USER_BOUND_KINDS.includes(kind);
  if (f === undefined) {
    if (!bound) return null;
    tree.problem(join(path, "owner"), at, `is required for ${kindText(kind)} tokens: the user whose role bounds the token`);
    return undefined;
  }
  if (!bound) {
    tree.problem(f.path, tree.posOr(f.node, f.path), `does not apply to ${kindText(kind)} tokens: they belong to the organization`);
    return undefined;
  }
  const owner = tree.string(f.path, f.node);
  if (owner === undefined || !check(tree, f.path, f.node, () => validateUserName(owner))) return undefined;
  return owner;
}

function readPermissions(tree: Tree, path: string, kind: TokenKind, f: Field): Permissions | undefined {
  if (f === undefined) return {};
  const m = tree.mapping(path, f.node, Object.values(PERMISSION_KEYS), "a token's permissions");
  if (m === undefined) return undefined;
  const out: Permissions = {};
  let ok = true;
  for (const [field, key] of Object.entries(PERMISSION_KEYS) as Array<[PermissionField, string]>) {
    const e = m.get(key);
    if (e === undefined) continue;
    const p = join(path, key);
    const node = tree.at(p, e.node, e.pos);
    if (!PERMISSION_FIELDS[kind].includes(field)) {
      const fits = (Object.keys(PERMISSION_FIELDS) as TokenKind[]).filter((k) => PERMISSION_FIELDS[k].includes(field)).map(kindText);
      tree.problem(p, tree.posOr(node, p), `does not apply to ${kindText(kind)} tokens (only to ${fits.join(", ")})`);
      ok = false;
      continue;
    }
    if (field === "filters") {
      const filters = readFilters(tree, p, node);
      if (filters === undefined) ok = false;
      else out.filters = filters;
      continue;
    }
    const items = tree.sequence(p, node, `the token's ${key}`);
    if (items === undefined) {
      ok = false;
      continue;
    }
    if (items.length > MAX_PERMISSION_ENTRIES) {
      tree.problem(p, tree.posOr(node, p), `may name at most ${MAX_PERMISSION_ENTRIES} entries (it has ${items.length})`);
      ok = false;
      continue;
    }
    const seen = new Set<string>();
    const once = (ip: string, n: Value, v: string, what: string): boolean => {
      if (!seen.has(v)) {
        seen.add(v);
        return true;
      }
      tree.problem(ip, tree.posOr(n, ip), `names ${what} "${v}" twice`);
      return false;
    };
    const strings = (each: (ip: string, n: Value, v: string) => boolean): string[] | undefined => {
      const vs: string[] = [];
      let good = true;
      items.forEach((raw, i) => {
        const ip = join(p, i);
        const n = tree.at(ip, raw, tree.posOr(node, p));
        const v = tree.string(ip, n);
        if (v === undefined || !each(ip, n, v)) good = false;
        else vs.push(v);
      });
      return good ? vs : undefined;
    };
    if (field === "signals") {
      const vs = strings((ip, n, v) => {
        if (!Object.hasOwn(SIGNAL_NAMES, v)) {
          tree.problem(ip, tree.posOr(n, ip), `is not a signal: use logs, metrics or traces`);
          return false;
        }
        return once(ip, n, v, "signal");
      });
      if (vs === undefined) ok = false;
      else out.signals = vs.map((v) => SIGNAL_NAMES[v]!);
    } else if (field === "buckets") {
      const vs = strings((ip, n, v) => check(tree, ip, n, () => validateBucketName(v)) && once(ip, n, v, "bucket"));
      if (vs === undefined) ok = false;
      else out.buckets = vs;
    } else if (field === "dashboards") {
      const vs = strings((ip, n, v) => {
        if (v === "" || !isPermissionText(v)) {
          tree.problem(ip, tree.posOr(n, ip), "must be 1–256 printable characters");
          return false;
        }
        return once(ip, n, v, "dashboard");
      });
      if (vs === undefined) ok = false;
      else out.dashboards = vs;
    } else {
      const grants: BucketGrant[] = [];
      items.forEach((raw, i) => {
        const ip = join(p, i);
        const g = readGrant(tree, ip, tree.at(ip, raw, tree.posOr(node, p)), seen);
        if (g === undefined) ok = false;
        else grants.push(g);
      });
      out.bucketAccess = grants;
    }
  }
  return ok ? out : undefined;
}

function readGrant(tree: Tree, path: string, node: Value, seen: Set<string>): BucketGrant | undefined {
  const m = tree.mapping(path, node, ["bucket", "read", "write"], "a bucket grant: bucket, read, write");
  if (m === undefined) return undefined;
  let ok = true;
  let bucket: string | undefined;
  const b = m.get("bucket");
  if (b === undefined) {
    tree.problem(join(path, "bucket"), tree.posOr(node, path), "is required (the bucket's name)");
    ok = false;
  } else {
    const bp = join(path, "bucket");
    const bn = tree.at(bp, b.node, b.pos);
    bucket = tree.string(bp, bn);
    if (bucket === undefined || !check(tree, bp, bn, () => validateBucketName(bucket!))) ok = false;
    else if (seen.has(bucket)) {
      tree.problem(bp, tree.posOr(bn, bp), `names bucket "${bucket}" twice in bucket_access`);
      ok = false;
    } else seen.add(bucket);
  }
  const flag = (name: "read" | "write"): boolean | undefined => {
    const e = m.get(name);
    if (e === undefined) return false;
    const fp = join(path, name);
    return tree.boolean(fp, tree.at(fp, e.node, e.pos));
  };
  const read = flag("read");
  const write = flag("write");
  if (read === undefined || write === undefined) ok = false;
  else if (!read && !write && bucket !== undefined) {
    tree.problem(path, tree.posOr(node, path), `grants neither read nor write on bucket "${bucket}": set read: true, write: true or both`);
    ok = false;
  }
  return ok && bucket !== undefined ? { bucket, read: read!, write: write! } : undefined;
}

function readFilters(tree: Tree, path: string, node: Value): Record<string, string> | undefined {
  const entries = tree.entries(path, node, "filters: key: value pairs");
  if (entries === undefined) return undefined;
  if (entries.length > MAX_PERMISSION_ENTRIES) {
    tree.problem(path, tree.posOr(node, path), `may hold at most ${MAX_PERMISSION_ENTRIES} entries (it has ${entries.length})`);
    return undefined;
  }
  const out: Record<string, string> = {};
  let ok = true;
  for (const e of entries) {
    const kp = join(path, e.key);
    const v = tree.string(kp, tree.at(kp, e.node, e.pos));
    if (v === undefined) ok = false;
    else if (e.key === "" || !isPermissionText(e.key) || !isPermissionText(v)) {
      tree.problem(kp, e.pos, "filter keys must be 1–256 printable characters, and values at most 256");
      ok = false;
    } else out[e.key] = v;
  }
  return ok ? out : undefined;
}

function readExpiry(ctx: TokenContext, timeF: Field, inF: Field): Expiry | undefined {
  const { tree } = ctx;
  if (timeF !== undefined && inF !== undefined) {
    tree.problem(inF.path, tree.posOr(inF.node, inF.path), "give either expire_time or expires_in, not both");
    return undefined;
  }
  if (timeF !== undefined) {
    const raw = tree.string(timeF.path, timeF.node);
    if (raw === undefined) return undefined;
    const time = parseRfc3339(raw);
    if (time === undefined) {
      tree.problem(timeF.path, tree.posOr(timeF.node, timeF.path), "is not an RFC 3339 time: use e.g. 2026-12-31T00:00:00Z");
      return undefined;
    }
    if (time.getTime() <= ctx.now) {
      tree.problem(timeF.path, tree.posOr(timeF.node, timeF.path), "is in the past");
      return undefined;
    }
    return { kind: "at", time };
  }
  if (inF !== undefined) {
    const raw = tree.string(inF.path, inF.node);
    if (raw === undefined) return undefined;
    const d = parseDurationText(raw);
    if (!d.ok) {
      tree.problem(
        inF.path,
        tree.posOr(inF.node, inF.path),
        d.problem === "zero"
          ? "must be longer than zero"
          : d.problem === "too-long"
            ? "is too long (at most 100 years)"
            : "is not a duration: use a number and a unit (s, m, h, d, w), e.g. 24h, 90m, 7d or 1h30m",
      );
      return undefined;
    }
    return { kind: "in", ms: d.ms, text: raw };
  }
  return { kind: "never" };
}

function readValueSource(
  ctx: TokenContext,
  path: string,
  at: { line: number; col: number },
  kind: TokenKind | undefined,
  isDefault: boolean,
  field: (name: string) => Field,
): ValueSource | undefined {
  const { tree } = ctx;
  const given = (["value_from_env", "value_file", "generate"] as const).flatMap((n) => {
    const e = field(n);
    return e === undefined ? [] : [{ name: n, ...e, at: tree.posOr(e.node, e.path) }];
  });
  // The second in the file is the one to take out.
  given.sort((a, b) => a.at.line - b.at.line || a.at.col - b.at.col);
  if (given.length > 1) {
    tree.problem(
      given[1]!.path,
      tree.posOr(given[1]!.node, given[1]!.path),
      `give one of value_from_env, value_file and generate, not both ${given[0]!.name} and ${given[1]!.name}`,
    );
    return undefined;
  }
  const source = given[0];
  if (source === undefined) {
    if (isDefault) return { from: "organization", save: false };
    tree.problem(path, at, "needs a value source: value_from_env: VARIABLE, value_file: PATH, or generate: true");
    return undefined;
  }
  const pos = tree.posOr(source.node, source.path);
  if (source.name === "generate") {
    const g = tree.boolean(source.path, source.node);
    if (g === undefined) return undefined;
    if (!g) {
      tree.problem(
        source.path,
        pos,
        "generate: false means nothing: leave it out and give value_from_env or value_file, or say generate: true",
      );
      return undefined;
    }
    return isDefault ? { from: "organization", save: true } : { from: "generate" };
  }
  const raw = tree.string(source.path, source.node);
  if (raw === undefined) return undefined;
  let value: string;
  let describe: string;
  if (source.name === "value_from_env") {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(raw)) {
      tree.problem(source.path, pos, "is not an environment variable name (letters, digits and _, not starting with a digit)");
      return undefined;
    }
    const v = ctx.inputs.variable(raw);
    if (v === undefined) {
      tree.problem(source.path, pos, `environment variable ${raw} is not set`);
      return undefined;
    }
    value = v;
    describe = `the value in environment variable ${raw}`;
  } else {
    if (raw === "") {
      tree.problem(source.path, pos, "must name a file (relative to the manifest)");
      return undefined;
    }
    const r = ctx.inputs.readValueFile(raw);
    if (!r.ok) {
      tree.problem(source.path, pos, `cannot read value file ${shownPath(raw)}: ${r.problem}`);
      return undefined;
    }
    // A file written by `echo` or an editor ends with a newline that is not part of the value.
    value = r.text.replace(/\r?\n$/, "");
    describe = `the value in ${shownPath(raw)}`;
  }
  if (kind === undefined) return undefined;
  const problem = valueProblem(kind, value);
  if (problem !== undefined) {
    tree.problem(source.path, pos, `${describe} is not acceptable: ${problem}`);
    return undefined;
  }
  const digest = createHash("sha256").update(value).digest("hex");
  const earlier = ctx.seenValues.get(digest);
  if (earlier !== undefined) {
    tree.problem(source.path, pos, `${describe} is the same as the value of ${earlier}: every token needs its own value`);
    return undefined;
  }
  ctx.seenValues.set(digest, path);
  const secret = new SecretValue(value);
  return source.name === "value_from_env" ? { from: "env", variable: raw, value: secret } : { from: "file", file: raw, value: secret };
}

/** A value file's path in a message: its own text, with anything unprintable replaced. */
const shownPath = (p: string): string => JSON.stringify(p.replace(/[^\x20-\x7e]/g, "?"));

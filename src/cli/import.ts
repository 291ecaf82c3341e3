/**
 * `tessera import --file tokens.jsonl`: creates many tokens with values brought from another
 * system (or Tessera-format values made elsewhere), one JSON object per line.
 *
 * All or nothing at the door, idempotent after it:
 * 1. every line is checked first, locally and against the organizations the caller's token
 *    reaches (JSON, fields, kind, permissions, expiry, the value's shape and entropy, duplicate
 *    names or values in the file, unknown organizations). Any error refuses the whole file and
 *    nothing is imported; every error is reported with its line number and field.
 * 2. then each line is one CreateToken with `allow_existing`: a token of that name that already
 *    holds exactly that value and kind is reported "unchanged" (the server compares digests in
 *    constant time), so running the same file twice creates nothing the second time. A line the
 *    server refuses (a bucket that does not exist, a value in use elsewhere) is reported and the
 *    others go on; once fixed, running the file again finishes the job.
 *
 * Values are never printed: not in a report line, not in an error (JSON.parse's messages quote
 * the input, so they are dropped).
 */
import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { ConnectError } from "@connectrpc/connect";
import { isTesseraError } from "../domain/errors.js";
import { isUuid } from "../domain/ids.js";
import { validateDescription, validateTokenName } from "../domain/names.js";
import type { TokenKind as DomainKind } from "../domain/token-format.js";
import { acceptBroughtValue } from "../domain/token-value.js";
import { TokenKind, TokenPermissionsSchema, type Token, type TokenPermissions } from "../gen/tessera/v1/resources_pb.js";
import { createAdminClient } from "./api.js";
import { CONNECTION_OPTIONS, CONNECTION_USAGE, resolveConnection } from "./cli-config.js";
import { CliError, EXIT_FAILED, EXIT_OK, bool, requireStr, type Command } from "./command.js";
import { JSON_OPTION, clean, kindName, printJson } from "./output.js";
import { reachableOrganizations, type OrganizationRef } from "./organizations.js";
import { KINDS } from "./token-flags.js";
import { readTextFile } from "./value-source.js";

const FIELDS = new Set(["organization", "name", "kind", "permissions", "description", "expire_time", "user_id", "value"]);

interface Line {
  line: number;
  organization: string;
  name: string;
  kind: TokenKind;
  permissions: TokenPermissions | undefined;
  description: string;
  expireTime: Timestamp | undefined;
  userId: string;
  value: string;
}

class LineError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

const DOMAIN_KIND: Partial<Record<TokenKind, DomainKind>> = {
  [TokenKind.INGESTION]: "INGESTION",
  [TokenKind.ALL_ACCESS]: "ALL_ACCESS",
  [TokenKind.READ_WRITE]: "READ_WRITE",
  [TokenKind.SHARED]: "SHARED",
  [TokenKind.VERIFIER]: "VERIFIER",
  [TokenKind.OPERATOR]: "OPERATOR",
};

function text(doc: Record<string, unknown>, field: string, required: boolean): string {
  const v = doc[field];
  if (v === undefined || v === null) {
    if (required) throw new LineError(field, "required");
    return "";
  }
  if (typeof v !== "string") throw new LineError(field, "must be a string");
  if (required && v === "") throw new LineError(field, "must not be empty");
  return v;
}

/** "ingestion", "read-write" (as `auth create --kind` takes) or "INGESTION", "TOKEN_KIND_INGESTION". */
function parseKindText(raw: string): TokenKind {
  const k = raw
    .toLowerCase()
    .replace(/^token_kind_/, "")
    .replaceAll("_", "-");
  const kind = Object.hasOwn(KINDS, k) ? KINDS[k] : undefined;
  if (kind === undefined) throw new LineError("kind", `unknown kind; use one of ${Object.keys(KINDS).join(", ")}`);
  return kind;
}

/** A message from the domain's checks, without anything of the value (they never include it). */
function domainMessage(err: unknown): string {
  if (isTesseraError(err)) return err.publicMessage;
  throw err;
}

function parseLine(raw: string, line: number, now: number): Line {
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch {
    throw new LineError("", "not valid JSON (one object per line)");
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new LineError("", "must be a JSON object");
  const o = doc as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!FIELDS.has(k)) throw new LineError(k, `unknown field; the fields are ${[...FIELDS].join(", ")}`);
  const organization = text(o, "organization", true);
  const name = text(o, "name", true);
  try {
    validateTokenName(name);
  } catch (err) {
    throw new LineError("name", domainMessage(err));
  }
  const kind = parseKindText(text(o, "kind", true));
  const description = text(o, "description", false);
  try {
    validateDescription(description);
  } catch (err) {
    throw new LineError("description", domainMessage(err));
  }
  let permissions: TokenPermissions | undefined;
  if (o.permissions !== undefined && o.permissions !== null) {
    try {
      permissions = fromJson(TokenPermissionsSchema, o.permissions as JsonValue);
    } catch (err) {
      throw new LineError("permissions", `not TokenPermissions JSON: ${(err as Error).message}`);
    }
  }
  let expireTime: Timestamp | undefined;
  const expires = text(o, "expire_time", false);
  if (expires !== "") {
    const d = new Date(expires);
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i.test(expires) || Number.isNaN(d.getTime())) {
      throw new LineError("expire_time", "not an RFC 3339 time, e.g. 2026-12-31T00:00:00Z");
    }
    if (d.getTime() <= now) throw new LineError("expire_time", "in the past");
    expireTime = timestampFromDate(d);
  }
  const userId = text(o, "user_id", false);
  if (userId !== "" && !isUuid(userId)) throw new LineError("user_id", "must be a user id (UUID)");
  const value = text(o, "value", true);
  try {
    acceptBroughtValue(DOMAIN_KIND[kind]!, value);
  } catch (err) {
    throw new LineError("value", domainMessage(err));
  }
  return { line, organization, name, kind, permissions, description, expireTime, userId, value };
}

const sorted = (xs: readonly string[]) => [...new Set(xs)].sort();

/** What of the file's line differs from the token already there (its permissions never change). */
function differences(l: Line, t: Token): string[] {
  const out: string[] = [];
  if (t.description !== l.description) out.push("description");
  const exp = (x: Timestamp | undefined) => (x === undefined ? 0 : timestampDate(x).getTime());
  if (Math.floor(exp(t.expireTime) / 1000) !== Math.floor(exp(l.expireTime) / 1000)) out.push("expire_time");
  const p = (x: TokenPermissions | undefined) =>
    JSON.stringify([
      sorted((x?.signals ?? []).map(String)),
      sorted(x?.buckets ?? []),
      sorted((x?.bucketAccess ?? []).map((g) => `${g.bucket}:${g.read}:${g.write}`)),
      sorted(x?.dashboards ?? []),
      sorted(Object.entries(x?.filters ?? {}).map(([k, v]) => `${k}=${v}`)),
    ]);
  if (p(t.permissions) !== p(l.permissions)) out.push("permissions");
  return out;
}

/** One line's outcome, as `--json` reports it. */
interface ImportedLine {
  line: number;
  result: "created" | "unchanged" | "failed";
  organization: string;
  name: string;
  kind: string;
  id?: string;
  maskedValue?: string;
  /** For "unchanged": the fields in which the token there differs from the line. */
  differs?: string[];
  error?: string;
}

export const command: Command = {
  name: "import",
  summary: "Create tokens from a JSON-lines file of values brought from another system (idempotent)",
  usage: `Usage: tessera import -f PATH [--dry-run] [--json]

  -f, --file PATH
                JSON lines ("-": standard input), one token per line:
                  {"organization": "acme", "name": "edge-1", "kind": "ingestion",
                   "permissions": {"signals": ["SIGNAL_LOGS"]}, "value": "<the value>"}
                organization (identifier or id), name, kind and value are required;
                permissions (TokenPermissions JSON), description, expire_time (RFC 3339) and
                user_id (owner of an all-access or read-write token) are optional.
  --dry-run     check every line and stop: import nothing
  --json        print one JSON object instead of a line per token: {"dryRun", "checked",
                "created", "unchanged", "failed", "lines": [{"line", "result" (created,
                unchanged or failed), "organization", "name", "kind", "id", "maskedValue",
                "differs", "error"}]}; never a value

Every line is checked before anything is imported; a file with any bad line imports nothing.
Each line then reports created, unchanged (a token of that name already holds that value) or
its error; running the same file again creates nothing. Values are never printed.

${CONNECTION_USAGE}`,
  options: { ...CONNECTION_OPTIONS, file: { type: "string", short: "f" }, "dry-run": { type: "boolean" }, ...JSON_OPTION },
  async run(flags, ctx) {
    const file = requireStr(flags, "file");
    const conn = await resolveConnection(flags, ctx.env, ctx.err);
    const content = await readTextFile(file, "--file");
    const now = Date.now();
    const lines: Line[] = [];
    const problems: string[] = [];
    const seenNames = new Map<string, number>();
    const seenValues = new Map<string, number>();
    const rawLines = content.split("\n");
    for (let i = 0; i < rawLines.length; i++) {
      const raw = rawLines[i]!.replace(/\r$/, "");
      if (raw.trim() === "") continue;
      try {
        const l = parseLine(raw, i + 1, now);
        const value = seenValues.get(l.value);
        if (value !== undefined) throw new LineError("value", `the same value as line ${value}`);
        seenValues.set(l.value, l.line);
        lines.push(l);
      } catch (err) {
        if (!(err instanceof LineError)) throw err;
        problems.push(`line ${i + 1}: ${err.field === "" ? "" : `${err.field}: `}${err.message}`);
      }
    }
    if (lines.length === 0 && problems.length === 0) throw new CliError(`${file} holds no tokens`);
    const api = createAdminClient(conn.host, conn.token);
    const orgs = await reachableOrganizations(api);
    const orgOf = new Map<Line, OrganizationRef>();
    for (const l of lines) {
      const org = orgs.get(l.organization);
      if (org === undefined) {
        problems.push(`line ${l.line}: organization: no organization "${clean(l.organization)}" that your token reaches`);
        continue;
      }
      orgOf.set(l, org);
      const key = `${org.id}\u0000${l.name}`;
      const first = seenNames.get(key);
      if (first !== undefined) problems.push(`line ${l.line}: name: the same organization and name as line ${first}`);
      else seenNames.set(key, l.line);
    }
    if (problems.length > 0) {
      problems.sort((a, b) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0]));
      for (const p of problems) ctx.err(p);
      throw new CliError(`${problems.length} bad line${problems.length === 1 ? "" : "s"} in ${file}: nothing was imported`);
    }
    const json = bool(flags, "json");
    const results: ImportedLine[] = [];
    let created = 0;
    let unchanged = 0;
    let failed = 0;
    const summary = (dryRun: boolean) => ({ dryRun, checked: lines.length, created, unchanged, failed, lines: results });
    if (bool(flags, "dry-run")) {
      if (json) printJson(ctx, summary(true));
      else ctx.out(`${lines.length} line${lines.length === 1 ? "" : "s"} checked; nothing imported (--dry-run).`);
      return EXIT_OK;
    }
    for (const l of lines) {
      const org = orgOf.get(l)!;
      const where = `${kindName(l.kind)} token ${clean(l.name)} in ${clean(org.identifier)}`;
      try {
        const res = await api.createToken({
          organizationId: org.id,
          name: l.name,
          kind: l.kind,
          description: l.description,
          userId: l.userId,
          ...(l.permissions !== undefined && { permissions: l.permissions }),
          ...(l.expireTime !== undefined && { expireTime: l.expireTime }),
          value: l.value,
          allowExisting: true,
        });
        const t = res.token!;
        const about = {
          line: l.line,
          organization: org.identifier,
          name: l.name,
          kind: kindName(l.kind),
          id: t.id,
          maskedValue: t.maskedValue,
        };
        if (res.created) {
          created++;
          results.push({ ...about, result: "created" });
          if (!json) ctx.out(`line ${l.line}: created ${where} (id ${t.id}, ${clean(t.maskedValue)})`);
        } else {
          unchanged++;
          const diff = differences(l, t);
          results.push({ ...about, result: "unchanged", differs: diff });
          if (!json)
            ctx.out(
              `line ${l.line}: unchanged ${where} (id ${t.id})` +
                (diff.length === 0 ? "" : `; the token there differs in ${diff.join(", ")}, which import does not change`),
            );
        }
      } catch (err) {
        if (!(err instanceof ConnectError)) throw err;
        failed++;
        results.push({
          line: l.line,
          result: "failed",
          organization: org.identifier,
          name: l.name,
          kind: kindName(l.kind),
          error: err.rawMessage,
        });
        if (!json) ctx.out(`line ${l.line}: error: ${clean(err.rawMessage)}`);
      }
    }
    if (json) printJson(ctx, summary(false));
    ctx.err(`${created} created, ${unchanged} unchanged, ${failed} failed.`);
    return failed === 0 ? EXIT_OK : EXIT_FAILED;
  },
};

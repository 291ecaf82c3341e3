/**
 * `tessera audit …`: read an organization's audit trail (`list`, newest first, or `--follow` to
 * keep receiving new entries, as a table or JSON lines for a log shipper) and check that nobody
 * changed it behind Tessera's back (`verify`, which walks the keyed hash chain on the server).
 */
import { toJson } from "@bufbuild/protobuf";
import { AuditEventSchema, type AuditEvent } from "../gen/tessera/v1/audit_pb.js";
import { VerifyAuditLogResponseSchema, type VerifyAuditLogResponse } from "../gen/tessera/v1/token_admin_service_pb.js";
import { INSTANCE_TRAIL } from "../domain/audit/entry.js";
import { isUuid } from "../domain/ids.js";
import { createAdminClient, type AdminClient } from "./api.js";
import { auditFilter, type AuditFilter, type ListRequest } from "./audit-filter.js";
import { follow } from "./audit-follow.js";
import { headProblem, parseExpectedHead } from "./audit-head.js";
import { AUDIT_HEADERS, auditRow, hex, problemKindName, problemRow } from "./audit-text.js";
import { CONNECTION_OPTIONS, CONNECTION_USAGE, resolveConnection } from "./cli-config.js";
import {
  EXIT_FAILED,
  EXIT_OK,
  UsageError,
  bool,
  str,
  type Command,
  type Context,
  type Flags,
  type Group,
  type Options,
} from "./command.js";
import { columnWidths, printTable, table, tableRow } from "./output.js";
import { organizationId } from "./organizations.js";
import { userId } from "./users.js";

const TRAIL_OPTIONS: Options = { org: { type: "string", short: "o" }, instance: { type: "boolean" } };

const TRAIL_USAGE = `  -o, --org ORG     the organization's trail, by id or identifier (default: your token's
                    organization); its ADMINs and operators may read it
  --instance        the instance's own trail (refused calls with unknown credentials,
                    digest-key changes); operators only`;

/** The trail the flags name, as the API's organization_id: "" for the token's own organization. */
async function trailId(flags: Flags, api: AdminClient): Promise<string> {
  const org = str(flags, "org");
  if (bool(flags, "instance")) return INSTANCE_TRAIL;
  return org === undefined ? "" : organizationId(api, org, "--org");
}

function checkTrailFlags(flags: Flags): void {
  if (str(flags, "org") !== undefined && bool(flags, "instance")) throw new UsageError("give either --org or --instance, not both");
}

const DEFAULT_LIMIT = 100;
const PAGE = 1000;

function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_LIMIT;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < 1) throw new UsageError(`--limit "${raw}" must be a whole number of entries, at least 1`);
  return Number(raw);
}

const jsonLine = (e: AuditEvent): string => JSON.stringify(toJson(AuditEventSchema, e));

const list: Command = {
  name: "list",
  summary: "List audit entries, newest first, or follow new ones as they are recorded",
  usage: `Usage: tessera audit list [-o ORG | --instance] [--since TIME] [--until TIME] [--actor TOKEN_ID]
                          [-u USER] [--target ID] [--action ACTION] [--outcome WHICH]
                          [--limit N] [--json | --hide-headers] [--follow]

${TRAIL_USAGE}
  --since TIME      only entries at or after TIME: RFC 3339 (2026-01-31T00:00:00Z) or a
                    duration meaning that long ago (30m, 24h, 7d)
  --until TIME      only entries before TIME (same forms)
  --actor TOKEN_ID  only what this token did
  -u, --user USER   only what tokens bound to this user did (by name or id)
  --target ID       only entries about this id (a token, user, bucket, organization…)
  --action ACTION   only this action (token.disable), or a whole area with a trailing dot (token.)
  --outcome WHICH   only ok, permission_denied or unauthenticated (refused calls)
  --limit N         at most N entries, the newest (default ${DEFAULT_LIMIT}; larger values page through
                    the API); with --follow, how many earlier entries to print first
  --json            JSON Lines: one entry per line, as the API's JSON (protobuf JSON mapping:
                    camelCase field names, int64 as strings, hashes in base64), for jq or a
                    log shipper; "id" identifies an entry, "sequence" and "hash" are absent
                    until it is sealed. JSON Lines rather than one array, so that a long
                    list or a --follow prints each entry as it arrives
  --hide-headers    leave out the table's header line
  --follow          after the entries above, keep printing new ones as they are sealed (about
                    a second after they are recorded), until Ctrl-C (exit 0). The earlier
                    entries are then printed oldest first, so the newest is always at the
                    bottom; a dropped connection is resumed after the last entry received, so
                    no entry is lost or printed twice

The table shows the sequence number (pending for an entry recorded in the last second or so,
until the server seals it into the trail's hash chain), the actor (token kind and the first 8
characters of its id, or the system: setup, recovery, upkeep, server), what was done to what,
the outcome and the changed fields (before→after) or, for a refused call, the reason. --json
has every field.

Examples:
  tessera audit list --action token. --since 24h
  tessera audit list --follow --json | your-shipper

${CONNECTION_USAGE}`,
  options: {
    ...CONNECTION_OPTIONS,
    ...TRAIL_OPTIONS,
    since: { type: "string" },
    until: { type: "string" },
    actor: { type: "string" },
    user: { type: "string", short: "u" },
    target: { type: "string" },
    action: { type: "string" },
    outcome: { type: "string" },
    limit: { type: "string" },
    json: { type: "boolean" },
    "hide-headers": { type: "boolean" },
    follow: { type: "boolean" },
  },
  async run(flags, ctx) {
    checkTrailFlags(flags);
    const following = bool(flags, "follow");
    if (following && str(flags, "until") !== undefined) throw new UsageError("--until does not go with --follow: following has no end");
    // A user named by name is looked up once connected; everything else is judged first.
    const userText = str(flags, "user");
    const byName = userText !== undefined && userText !== "" && !isUuid(userText);
    const now = (ctx.now?.() ?? new Date()).getTime();
    let filter = auditFilter(byName ? { ...flags, user: undefined } : flags, now);
    const limit = parseLimit(str(flags, "limit"));
    const json = bool(flags, "json");
    const conn = await resolveConnection(flags, ctx.env, ctx.err);
    const api = createAdminClient(conn.host, conn.token);
    if (byName) filter = auditFilter({ ...flags, user: await userId(api, userText, "--user") }, now);
    if (!following) {
      const organizationId = await trailId(flags, api);
      const events: AuditEvent[] = [];
      for await (const e of newestFirst(api, { ...filter.request, organizationId }, limit)) {
        if (json)
          ctx.out(jsonLine(e)); // as each page arrives: a long list needs no memory
        else events.push(e);
      }
      if (!json) printTable(ctx, flags, AUDIT_HEADERS, events.map(auditRow));
      return EXIT_OK;
    }
    // Ctrl-C ends a follow cleanly from the start, while the earlier entries are read too.
    const stop = ctx.interrupted?.() ?? new AbortController().signal;
    try {
      await followTrail(api, await trailId(flags, api), filter, limit, { json, headers: !bool(flags, "hide-headers") }, ctx, stop);
    } catch (err) {
      if (!stop.aborted) throw err;
    }
    return EXIT_OK;
  },
};

/** Up to `limit` entries, newest first, a page (at most 1000) at a time. */
async function* newestFirst(api: AdminClient, request: ListRequest, limit: number, signal?: AbortSignal): AsyncGenerator<AuditEvent> {
  let read = 0;
  let pageToken = "";
  while (read < limit) {
    const page = await api.listAuditEvents({ ...request, pageSize: Math.min(limit - read, PAGE), pageToken }, { signal });
    read += page.events.length;
    yield* page.events;
    pageToken = page.nextPageToken;
    if (pageToken === "") return;
  }
}

/**
 * Where to follow the trail from: the newest sealed entry's sequence number among the newest
 * entries of the whole trail, matching the filter or not, and the ids of the entries read on the
 * way that were not sealed yet. Entries are linked into the chain (given their sequence number)
 * about a second after they are written, so the newest few usually are not; this pages back past
 * those. Sequence 0 when nothing is sealed yet: the stream then starts at the beginning.
 */
async function sealedHead(api: AdminClient, organizationId: string, signal: AbortSignal): Promise<{ head: bigint; unsealed: string[] }> {
  const unsealed: string[] = [];
  let pageToken = "";
  let pageSize = 50; // enough on all but a trail whose sealing lags far behind
  for (;;) {
    const page = await api.listAuditEvents({ organizationId, pageSize, pageToken }, { signal });
    let head = 0n;
    for (const e of page.events) {
      if (e.sequence > head) head = e.sequence;
      if (e.sequence === 0n) unsealed.push(e.id);
    }
    if (head > 0n || page.nextPageToken === "") return { head, unsealed };
    pageToken = page.nextPageToken;
    pageSize = PAGE;
  }
}

/** The newest `limit` matching entries, oldest first so the newest ends at the bottom, then every new one. */
async function followTrail(
  api: AdminClient,
  organizationId: string,
  filter: AuditFilter,
  limit: number,
  { json, headers }: { json: boolean; headers: boolean },
  ctx: Context,
  signal: AbortSignal,
): Promise<void> {
  // The stream sends sealed entries only, in sequence order. Every entry sealed at or before
  // `head` was committed before the list below is read, so the list has it (unless the filter or
  // --limit leaves it out): following after `head` loses none. Entries already recorded that the
  // stream sends again once they are sealed are skipped by id: those the list printed before they
  // were sealed (or that were sealed since `head` was read), and those still unsealed when
  // following began that the filter or --limit left out.
  const { head, unsealed } = await sealedHead(api, organizationId, signal);
  const events: AuditEvent[] = [];
  for await (const e of newestFirst(api, { ...filter.request, organizationId }, limit, signal)) events.push(e);
  events.reverse();
  const known = new Set([...unsealed, ...events.filter((e) => e.sequence === 0n || e.sequence > head).map((e) => e.id)]);
  // Streamed rows cannot be measured in advance: columns as wide as the backlog's, or a typical entry's.
  const widths = columnWidths(AUDIT_HEADERS, [
    ...events.map(auditRow),
    ["2026-01-01T00:00:00Z", "100000", "all-access 00000000", "organization.update"],
  ]);
  const print = (e: AuditEvent): void => ctx.out(json ? jsonLine(e) : tableRow(widths, auditRow(e)));
  if (!json && headers) ctx.out(tableRow(widths, AUDIT_HEADERS));
  for (const e of events) print(e);
  await follow({
    api,
    organizationId,
    after: head,
    signal,
    onEvent: (e) => {
      if (known.delete(e.id)) return; // recorded before following began: printed already, or left out
      if (filter.matches(e)) print(e);
    },
    warn: ctx.err,
  });
}

const verify: Command = {
  name: "verify",
  summary: "Check the audit trail's hash chain: no entry changed, removed or inserted",
  usage: `Usage: tessera audit verify [-o ORG | --instance] [--expect-head SEQ:HASH] [--json]

${TRAIL_USAGE}
  --expect-head SEQ:HASH
                    also require entry SEQ to still have hash HASH: give the head an earlier
                    verify printed. The chain reveals any entry changed, removed or inserted
                    inside the trail, but entries cut from its end leave a shorter chain that
                    still verifies; a saved head catches that
  --json            print the server's answer as JSON (protobuf JSON mapping, every field;
                    hashes in base64, which --expect-head also accepts)

The server walks the whole trail and checks each entry's keyed MAC and its link to the entry
before. Entries recorded in the last second or so are checked once sealed. Prints how many
entries it checked, the first and last sequence numbers, the head (SEQ:HASH, hex) and every
problem found: an entry changed, entries removed, an entry inserted (ENTRY - for a row no seal
names), or an entry under a MAC key the server no longer has. Exit status 0 when the trail is
intact (and matches --expect-head), 1 when it is not.

Example:
  tessera audit verify --expect-head 1234:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08

${CONNECTION_USAGE}`,
  options: { ...CONNECTION_OPTIONS, ...TRAIL_OPTIONS, "expect-head": { type: "string" }, json: { type: "boolean" } },
  async run(flags, ctx) {
    checkTrailFlags(flags);
    const headText = str(flags, "expect-head");
    const expected = headText === undefined ? undefined : parseExpectedHead(headText);
    const conn = await resolveConnection(flags, ctx.env, ctx.err);
    const api = createAdminClient(conn.host, conn.token);
    const organizationId = await trailId(flags, api);
    const r = await api.verifyAuditLog({ organizationId });
    const headSaved = expected === undefined ? undefined : await headProblem(api, organizationId, r, expected);

    // Every field, "intact": false and "problems": [] included: a script should not have to know
    // that protobuf JSON leaves defaults out.
    if (bool(flags, "json")) ctx.out(JSON.stringify(toJson(VerifyAuditLogResponseSchema, r, { alwaysEmitImplicit: true }), null, 2));
    else report(r, expected !== undefined && headSaved === undefined ? expected.sequence : undefined, ctx);

    const failures: string[] = [];
    if (!r.intact) {
      const first = r.problems[0];
      const n = r.problems.length;
      failures.push(
        `the audit trail is not intact: ${n}${n === 100 ? " or more" : ""} problem${n === 1 ? "" : "s"}` +
          (first === undefined
            ? ""
            : first.sequence === 0n
              ? `, the first at an entry never sealed into the chain (${problemKindName(first.kind)})`
              : `, the first at entry ${first.sequence} (${problemKindName(first.kind)})`),
      );
    }
    if (headSaved !== undefined) failures.push(headSaved);
    for (const f of failures) ctx.err(`error: ${f}`);
    return failures.length === 0 ? EXIT_OK : EXIT_FAILED;
  },
};

function report(r: VerifyAuditLogResponse, headMatched: bigint | undefined, ctx: Context): void {
  const empty = r.lastSequence === 0n;
  const lines = [
    `entries checked:  ${r.entriesChecked}`,
    `sequences:        ${empty ? "-" : `${r.firstSequence} to ${r.lastSequence}`}`,
    `head:             ${empty ? "-" : `${r.lastSequence}:${hex(r.headHash)}`}`,
  ];
  if (headMatched !== undefined) lines.push(`expected head:    entry ${headMatched} still has the hash you saved`);
  lines.push(`intact:           ${r.intact ? "yes" : "no"}`);
  if (r.problems.length > 0) lines.push("", table(["ENTRY", "PROBLEM", "DETAIL"], r.problems.map(problemRow)));
  ctx.out(lines.join("\n"));
}

export const group: Group = {
  name: "audit",
  summary: "Read the audit trail of admin changes and refused calls, and check it was not tampered with.",
  commands: [list, verify],
};

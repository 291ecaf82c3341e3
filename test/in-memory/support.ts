/**
 * Seeds and assertions shared by the in-memory service tests: callers of every kind and role,
 * sub-organizations, the caller rules every admin RPC shares, Verify statuses, and revocation
 * streams that end when the test stops them.
 */
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, type ConnectError, createClient } from "@connectrpc/connect";
import { Role, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import {
  RevocationReason,
  TokenVerifyService,
  VerifyStatus,
  type VerifyResponse,
  type WatchRevocationsResponse,
} from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { generateToken } from "../../src/domain/token-format.js";
import type { Clients } from "../helpers/clients.js";
import type { InMemoryFixture, InMemoryTessera } from "../helpers/in-memory.js";
import { addMember, createOrg, issue, withAdmin, type SeededOrg } from "../helpers/seed.js";
import { eventually, PATIENCE_MS } from "../helpers/wait.js";
import { flipOne, rejects } from "../service/support.js";

export { rejects };

/** A UUID no row has. */
export const unknownId = (): string => randomUUID();

/** A distinctive name part: random, never the clock. */
export const tag = (): string => randomBytes(3).toString("hex");

/** A member of `orgId` with `role`, holding an ALL_ACCESS token made while it was ADMIN. */
export async function adminDemotedTo(
  c: Clients,
  callerToken: string,
  orgId: string,
  role: Role,
): Promise<{ userId: string; token: string; tokenId: string }> {
  const userId = await addMember(c, callerToken, orgId, Role.ADMIN);
  const t = await issue(c, callerToken, { organizationId: orgId, kind: TokenKind.ALL_ACCESS, userId });
  if (role !== Role.ADMIN) await c.admin.setMembership({ organizationId: orgId, userId, role }, callerToken);
  return { userId, token: t.value, tokenId: t.id };
}

/** A sub-organization of `parent` made by the parent's admin, with an ADMIN of its own (ALL_ACCESS token). */
export async function createSubOrg(
  c: Clients,
  operatorToken: string,
  parent: SeededOrg,
  opts: { denyParentAccess?: boolean } = {},
): Promise<SeededOrg> {
  const identifier = `${parent.identifier}-sub-${tag()}`;
  const o = await c.admin.createOrganization(
    { identifier, parentId: parent.orgId, denyParentAccess: opts.denyParentAccess ?? false },
    parent.adminToken,
  );
  return withAdmin(c, operatorToken, identifier, o);
}

/** Tokens of every kind that may not call the admin API, and ones that no longer authenticate. */
export interface Callers {
  ingestion: string;
  readWrite: string;
  shared: string;
  verifier: string;
  /** An ALL_ACCESS token, disabled. */
  disabled: string;
  /** An ALL_ACCESS token whose owner left the organization. */
  ownerGone: string;
}

export async function seedCallers(c: Clients, operatorToken: string, org: SeededOrg): Promise<Callers> {
  const bucket = `callers-${tag()}`;
  await c.admin.createBucket({ organizationId: org.orgId, name: bucket }, org.adminToken);
  const editor = await addMember(c, org.adminToken, org.orgId, Role.EDITOR);
  const rw = await issue(c, org.adminToken, {
    kind: TokenKind.READ_WRITE,
    userId: editor,
    permissions: { bucketAccess: [{ bucket, read: true, write: true }] },
  });
  const shared = await issue(c, org.adminToken, {
    kind: TokenKind.SHARED,
    permissions: { dashboards: ["d"] },
    expireTime: timestampFromMs(Date.now() + 3_600_000),
  });
  const verifier = await issue(c, operatorToken, { kind: TokenKind.VERIFIER });
  const disabled = await adminDemotedTo(c, org.adminToken, org.orgId, Role.ADMIN);
  await c.admin.setTokenEnabled({ id: disabled.tokenId, enabled: false }, org.adminToken);
  const gone = await adminDemotedTo(c, org.adminToken, org.orgId, Role.ADMIN);
  await c.admin.removeMembership({ userId: gone.userId }, org.adminToken);
  return {
    ingestion: org.defaultTokenValue,
    readWrite: rw.value,
    shared: shared.value,
    verifier: verifier.value,
    disabled: disabled.token,
    ownerGone: gone.token,
  };
}

type Call = (c: Clients, token?: string) => Promise<unknown>;

/**
 * Registers the tests every authenticated admin RPC shares: UNAUTHENTICATED without or with bad
 * credentials (absent, malformed, unknown, disabled, owner gone), PERMISSION_DENIED for every
 * token kind that is not OPERATOR or ALL_ACCESS. `call` is a well-formed request, so the refusals
 * are about the caller and nothing else.
 */
export function itRefusesBadCallers(rpc: string, get: () => { t: InMemoryTessera; callers: Callers }, call: Call): void {
  it(`${rpc} answers UNAUTHENTICATED without credentials`, async () => {
    const { t } = get();
    const err = await rejects(call(t.c), Code.Unauthenticated, `${rpc} without credentials`);
    assert.match(err.rawMessage, /authorization/);
  });

  it(`${rpc} answers UNAUTHENTICATED with a malformed, an unknown, a mistyped, a disabled or an orphaned token`, async () => {
    const { t, callers } = get();
    for (const [label, value] of [
      ["a scheme with no token", "Bearer"],
      ["an unsupported scheme", "Digest abc"],
      ["two words", "Bearer one two"],
      ["a Basic value that is not base64", "Basic %%%"],
    ] as const) {
      await rejects(call(t.raw, value), Code.Unauthenticated, `${rpc} with ${label}`);
    }
    await rejects(call(t.c, generateToken("ALL_ACCESS")), Code.Unauthenticated, `${rpc} with a well-formed token that does not exist`);
    await rejects(call(t.c, flipOne(generateToken("OPERATOR"))), Code.Unauthenticated, `${rpc} with a token whose checksum is wrong`);
    await rejects(call(t.c, callers.disabled), Code.Unauthenticated, `${rpc} with a disabled ALL_ACCESS token`);
    await rejects(call(t.c, callers.ownerGone), Code.Unauthenticated, `${rpc} with an ALL_ACCESS token whose owner left`);
  });

  it(`${rpc} answers PERMISSION_DENIED to ingestion, read-write, shared and verifier tokens`, async () => {
    const { t, callers } = get();
    for (const [label, token] of [
      ["ingestion", callers.ingestion],
      ["read-write", callers.readWrite],
      ["shared", callers.shared],
      ["verifier", callers.verifier],
    ] as const) {
      const err = await rejects(call(t.c, token), Code.PermissionDenied, `${rpc} with a ${label} token`);
      assert.match(err.rawMessage, /operator or all-access/);
    }
  });
}

/** The usual per-file set-up: two unrelated organizations, and bad callers from the first. */
export interface AreaFixture {
  f: InMemoryFixture;
  a: SeededOrg;
  b: SeededOrg;
  /** Sub-organizations of A: one its tokens reach, one that denies parent access. */
  child: SeededOrg;
  closedChild: SeededOrg;
  callers: Callers;
  /** What itRefusesBadCallers needs, once the hooks have run. */
  get: () => { t: InMemoryTessera; callers: Callers };
}

export function useTwoOrganizations(f: InMemoryFixture): AreaFixture {
  const x = { f } as AreaFixture;
  before(async () => {
    x.a = await createOrg(f.t.c, f.inst.operatorToken);
    x.b = await createOrg(f.t.c, f.inst.operatorToken);
    x.callers = await seedCallers(f.t.c, f.inst.operatorToken, x.a);
    x.child = await createSubOrg(f.t.c, f.inst.operatorToken, x.a);
    x.closedChild = await createSubOrg(f.t.c, f.inst.operatorToken, x.a, { denyParentAccess: true });
  });
  x.get = () => ({ t: f.t, callers: x.callers });
  return x;
}

/** Asserts an error message names none of `secrets` (another organization's ids and names). */
export function assertNoHint(err: ConnectError, secrets: string[], what: string): void {
  for (const s of secrets) assert.ok(!err.rawMessage.includes(s), `${what}: the message names ${s}`);
}

export function expectStatus(r: VerifyResponse, status: VerifyStatus, what: string): void {
  assert.equal(r.status, status, `${what} — wanted ${VerifyStatus[status]}, got ${VerifyStatus[r.status]}`);
  assert.equal(r.allowed, status === VerifyStatus.VALID, `${what}: allowed must match the status`);
}

/** WatchRevocations with `authorization` (a whole header value), ended by `signal`. */
function openStream(
  t: InMemoryTessera,
  afterCursor: string,
  authorization: string | undefined,
  signal?: AbortSignal,
): AsyncIterable<WatchRevocationsResponse> {
  const v = createClient(TokenVerifyService, t.transport);
  return v.watchRevocations(
    { afterCursor },
    { ...(authorization !== undefined && { headers: { authorization } }), ...(signal && { signal }) },
  );
}

/** The first message of a stream, which is then cancelled; throws what the stream throws. */
export async function firstMessage(
  t: InMemoryTessera,
  afterCursor: string,
  authorization: string | undefined,
): Promise<WatchRevocationsResponse> {
  const ac = new AbortController();
  try {
    for await (const m of openStream(t, afterCursor, authorization, ac.signal)) return m;
    throw new Error("the stream ended without a message");
  } finally {
    ac.abort();
  }
}

/** One message of a revocation stream, as recorded. */
interface FeedItem {
  kind: "event" | "checkpoint";
  cursor: string;
  tokenId: string;
  organizationId: string;
  reason: RevocationReason;
}

/** A stream recorded message by message, checkpoints included; `stop()` cancels the call. */
export interface Recording {
  items: FeedItem[];
  events(): FeedItem[];
  error: unknown;
  ended: boolean;
  /** Waits for `pred` to hold (a bound on failing, never on passing: see wait.ts). */
  until(pred: (r: Recording) => boolean, what?: string): Promise<void>;
  stop(): void;
}

export function record(t: InMemoryTessera, authorization: string, afterCursor = ""): Recording {
  const ac = new AbortController();
  const r: Recording = {
    items: [],
    events: () => r.items.filter((i) => i.kind === "event"),
    error: undefined,
    ended: false,
    async until(pred, what = "the stream's condition") {
      await eventually(() => pred(r) || r.ended, PATIENCE_MS, what);
      if (!pred(r)) throw new Error(`the stream ended before ${what}: ${String(r.error)}`);
    },
    stop: () => ac.abort(),
  };
  void (async () => {
    try {
      for await (const m of openStream(t, afterCursor, authorization, ac.signal)) {
        if (m.item.case === "event") {
          const e = m.item.value;
          r.items.push({ kind: "event", cursor: e.cursor, tokenId: e.tokenId, organizationId: e.organizationId, reason: e.reason });
        } else if (m.item.case === "checkpoint") {
          r.items.push({
            kind: "checkpoint",
            cursor: m.item.value.cursor,
            tokenId: "",
            organizationId: "",
            reason: RevocationReason.UNSPECIFIED,
          });
        }
      }
    } catch (err) {
      if (!ac.signal.aborted) r.error = err;
    } finally {
      r.ended = true;
    }
  })();
  return r;
}

/** Orders two cursors of one feed by position (xid, then event id). */
export function compareCursors(a: string, b: string): number {
  const [fa, xa, ia] = a.split(".");
  const [fb, xb, ib] = b.split(".");
  assert.equal(fa, fb, "cursors of one feed");
  const d = BigInt(xa!) - BigInt(xb!) || BigInt(ia!) - BigInt(ib!);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}

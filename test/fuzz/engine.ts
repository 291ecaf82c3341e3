/**
 * The fuzz run: seed a server through its public API, send `count` generated cases with bounded
 * concurrency, count the outcomes by listener/wire/protocol and code, collect the defects, and
 * replay each kind of defect alone to say whether it needs company (a batched query failing for
 * the case beside the bad one) or fails by itself. Shared by the mocha test and `npm run fuzz`.
 */
import { runInNewContext } from "node:vm";
import { setFlagsFromString } from "node:v8";
import { EndpointClass, Role, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { grpcJsClients, httpClients, type Clients } from "../helpers/clients.js";
import { addMember, createOrg, issue, setupInstance } from "../helpers/seed.js";
import { buildCase, routeOf, type FuzzCase } from "./cases.js";
import { classify, violations, type Outcome, type Violation } from "./classify.js";
import { internalErrorLogs, summarizeLogs } from "./report.js";
import { send, type Ports } from "./transport.js";
import type { FuzzContext } from "./values.js";

export interface Seeded {
  ctx: FuzzContext;
  /** An ingestion token of the operator's organization that no case can name: the probe. */
  probe: { token: string; identifier: string };
}

/**
 * Seeds what the cases use. The callers (operator, verifier, the fuzz organization's ADMIN) and
 * their organizations are never among the ids the cases name, so no case can disable, rotate or
 * delete them and change how the cases after it are answered. The cases change the fuzz
 * organization's other tokens and users, its sub-organization and a top-level victim organization.
 */
export async function seedServer(c: Clients): Promise<Seeded> {
  const inst = await setupInstance(c);
  const org = await createOrg(c, inst.operatorToken, "fuzz-org");
  const sub = await c.admin.createOrganization({ identifier: "fuzz-sub", parentId: org.orgId }, inst.operatorToken);
  const victim = await c.admin.createOrganization({ identifier: "fuzz-victim" }, inst.operatorToken);
  await c.admin.createBucket({ organizationId: org.orgId, name: "fuzz-bucket" }, inst.operatorToken);
  const viewer = await addMember(c, inst.operatorToken, org.orgId, Role.VIEWER, "fuzz-viewer");
  const editor = await addMember(c, inst.operatorToken, org.orgId, Role.EDITOR, "fuzz-editor");
  const t1 = await issue(c, inst.operatorToken, { organizationId: org.orgId, kind: TokenKind.INGESTION });
  const t2 = await issue(c, inst.operatorToken, {
    organizationId: org.orgId,
    kind: TokenKind.READ_WRITE,
    userId: editor,
    permissions: { bucketAccess: [{ bucket: "fuzz-bucket", read: true, write: true }] },
  });
  const probe = await issue(c, inst.operatorToken, { kind: TokenKind.INGESTION });
  const v = await c.verify.verify(
    { credential: org.defaultTokenValue, organization: org.identifier, endpoint: EndpointClass.INGEST },
    inst.verifierToken,
  );
  return {
    ctx: {
      operatorToken: inst.operatorToken,
      verifierToken: inst.verifierToken,
      adminToken: org.adminToken,
      knownTokens: [org.defaultTokenValue, t1.value, t2.value, sub.defaultTokenValue, victim.defaultTokenValue],
      identifiers: [inst.identifier, org.identifier, "fuzz-sub", "fuzz-victim"],
      orgIds: [sub.organization!.id, victim.organization!.id],
      userIds: [viewer, editor],
      tokenIds: [org.defaultTokenId, t1.id, t2.id, sub.defaultToken!.id, victim.defaultToken!.id],
      bucketNames: ["fuzz-bucket", inst.bucketName],
      cursor: v.cursor,
    },
    probe: { token: probe.value, identifier: inst.identifier },
  };
}

interface Failure {
  case: FuzzCase;
  outcome: Outcome;
  violations: Violation[];
}

export interface FuzzReport {
  seed: number;
  count: number;
  elapsedMs: number;
  /** route (`grpc:h2:grpc`) → code → count */
  counts: Map<string, Map<string, number>>;
  failures: number;
  /** One example per kind of failure, with how many cases failed that way. */
  kinds: Kind[];
  /** With `only`: every case and what it got, failing or not. */
  results?: Array<{ case: FuzzCase; outcome: Outcome }>;
}

export interface Kind {
  signature: string;
  count: number;
  first: Failure;
  routes: Set<string>;
  methods: Set<string>;
  codes: Set<string>;
  /** The first case's outcome when sent again alone, after the run. */
  alone?: Outcome;
  /** Internal errors the server logged while that case was sent alone: the cause of an "internal error". */
  aloneLogs?: Array<[string, number]>;
}

export interface FuzzOptions {
  seed: number;
  count: number;
  /** First case index (with count: a slice of the run, e.g. the second half). */
  from?: number;
  /** Only these case indexes (replay). */
  only?: number[];
  concurrency: number;
  timeoutMs: number;
  ports: Ports;
  ctx: FuzzContext;
  onProgress?: (done: number) => void;
  /** Keep a few examples of cases that got these codes (failing or not), for `--show`. */
  show?: string[];
}

/**
 * Groups failures so that one defect hit a thousand times is one entry: rules, code, listener and
 * the message's shape (digits and ids blanked). Routes and methods hit are collected beside it.
 */
function signatureOf(f: Failure): string {
  // An INTERNAL that also missed an expectation is the same defect as an INTERNAL that did not.
  const all = f.violations.map((v) => v.rule);
  const rules = (all.length > 1 ? all.filter((r) => r !== "EXPECTED") : all).join("+");
  // An unmet expectation is one defect whatever the service then answered.
  if (rules === "EXPECTED" && f.case.expect !== undefined)
    return `EXPECTED on the ${f.case.listener} port: ${f.case.expect.why.replace(/ [A-Za-z0-9.]+Request$/, " request")}`;
  const msg = f.outcome.message
    .replace(/[0-9a-f]{8}-[0-9a-f-]{27}/gi, "UUID")
    .replace(/\d+/g, "N")
    .slice(0, 90);
  // Tessera's own INTERNAL says only "internal error": the method tells such defects apart.
  const where = msg === "internal error" ? ` in ${f.case.method}` : "";
  return `${rules} ${f.outcome.code} on the ${f.case.listener} port${where} "${msg}"`;
}

export async function runFuzz(o: FuzzOptions): Promise<FuzzReport> {
  const started = performance.now();
  const counts = new Map<string, Map<string, number>>();
  const kinds = new Map<string, Kind>();
  let failures = 0;
  const results: NonNullable<FuzzReport["results"]> = [];
  const indexes = o.only ?? Array.from({ length: o.count }, (_, i) => (o.from ?? 0) + i);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < indexes.length) {
      const index = indexes[next++]!;
      const c = buildCase(o.seed, index, o.ctx);
      const outcome = classify(c, await send(c, o.ports, { timeoutMs: o.timeoutMs }));
      const route = routeOf(c);
      if (o.only !== undefined) results.push({ case: c, outcome });
      else if (o.show?.includes(outcome.code) && results.filter((r) => r.outcome.code === outcome.code).length < 5)
        results.push({ case: c, outcome });
      let byCode = counts.get(route);
      if (byCode === undefined) counts.set(route, (byCode = new Map()));
      byCode.set(outcome.code, (byCode.get(outcome.code) ?? 0) + 1);
      const v = violations(c, outcome);
      if (v.length > 0) {
        failures++;
        const f: Failure = { case: c, outcome, violations: v };
        const sig = signatureOf(f);
        let k = kinds.get(sig);
        if (k === undefined)
          kinds.set(sig, (k = { signature: sig, count: 0, first: f, routes: new Set(), methods: new Set(), codes: new Set() }));
        k.count++;
        k.routes.add(route);
        k.methods.add(c.method);
        k.codes.add(outcome.code);
      }
      o.onProgress?.(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency) }, worker));
  return {
    seed: o.seed,
    count: indexes.length,
    elapsedMs: performance.now() - started,
    counts,
    failures,
    kinds: [...kinds.values()].sort((a, b) => b.count - a.count),
    ...((o.only !== undefined || o.show !== undefined) && { results }),
  };
}

/**
 * Sends each kind's first failing case again, alone, and records what it gets then and what the
 * server logged meanwhile (`logs`: the server's log lines, appended to as it runs).
 */
export async function replayAlone(
  report: FuzzReport,
  o: Pick<FuzzOptions, "ports" | "ctx" | "timeoutMs">,
  logs: string[],
  max = 60,
): Promise<void> {
  for (const k of report.kinds.slice(0, max)) {
    const c = buildCase(report.seed, k.first.case.index, o.ctx);
    const before = logs.length;
    k.alone = classify(c, await send(c, o.ports, { timeoutMs: o.timeoutMs }));
    k.aloneLogs = summarizeLogs(internalErrorLogs(logs.slice(before)));
  }
}

/** Verify of the probe token through every real client: grpc-js on the gRPC port, Connect, gRPC and gRPC-web on the HTTP port. */
export async function probe(ports: Ports, verifierToken: string, p: Seeded["probe"]): Promise<string[]> {
  const problems: string[] = [];
  const clients = [grpcJsClients(ports.grpcPort), ...httpClients(ports.httpPort)];
  try {
    for (const c of clients) {
      try {
        const r = await c.verify.verify({ credential: p.token, organization: p.identifier, endpoint: EndpointClass.INGEST }, verifierToken);
        if (r.status !== VerifyStatus.VALID) problems.push(`${c.name}: probe Verify answered ${VerifyStatus[r.status]}, not VALID`);
      } catch (err) {
        problems.push(`${c.name}: probe Verify failed: ${String(err)}`);
      }
    }
  } finally {
    for (const c of clients) c.close();
  }
  return problems;
}

/** A full garbage collection, also without --expose-gc (the flag can be set at run time for a new context). */
export function collectGarbage(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g !== undefined) {
    g();
    return;
  }
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

export const MiB = 1024 * 1024;

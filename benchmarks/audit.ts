/**
 * What the audit trail costs (issue 13).
 *
 *   npm run bench:audit [-- --entries 1000000 --seconds 3 --rounds 3 --in-flight 16]
 *
 * 1. Admin write throughput: SetTokenEnabled calls/s against a Tessera with the trail and the same
 *    build with it switched off (config.audit.enabled, which only a harness can set), both on one
 *    embedded PostgreSQL, rounds interleaved. Two shapes: every call in one organization (its
 *    trail's appends are serialized) and calls spread over eight organizations.
 * 2. `audit verify` time: a trail of --entries entries (appended through the real writer, in
 *    batches) walked end to end by the same code as VerifyAuditLog.
 *
 * Load and servers share this process (and the machine's two cores): the ratio compares like
 * with like; the absolute rates are this machine's.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createKeyring, newKey } from "../src/domain/digest.js";
import { TokenKind } from "../src/gen/tessera/v1/resources_pb.js";
import { TokenAdminService } from "../src/gen/tessera/v1/token_admin_service_pb.js";
import { startTessera, type Tessera } from "../src/app.js";
import { silentLog } from "../src/log.js";
import { createDatabase } from "../src/store/database.js";
import { startEmbeddedPostgres } from "../src/store/embedded.js";
import { sealPending } from "../src/services/audit/sealer.js";
import { createAuditTrail, type AuditDraft } from "../src/services/audit/trail.js";
import { verifyTrail } from "../src/services/audit/verify-trail.js";
import { createGrpcClient } from "../src/wire/grpc-client.js";
import { percentiles } from "./stats.js";
import { benchTesseraConfig } from "./tessera-config.js";

const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) || fallback : fallback;
};
const ENTRIES = flag("entries", 1_000_000);
const SECONDS = flag("seconds", 3);
const ROUNDS = flag("rounds", 3);
const IN_FLIGHT = flag("in-flight", 16);

type Admin = ReturnType<typeof createGrpcClient<typeof TokenAdminService>>;
const auth = (token: string) => ({ metadata: { authorization: `Bearer ${token}` } });

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "tessera-bench-audit-"));
  const pg = await startEmbeddedPostgres({ dataDir: dir });
  const keyring = createKeyring({ 1: newKey() }, 1);
  const servers: Tessera[] = [];
  const clients: Admin[] = [];
  try {
    const base = benchTesseraConfig({ dataDir: dir, appUrl: pg.appUrl, ownerUrl: pg.ownerUrl, poolSize: 16 });
    const on = await startTessera(base, { keyring, log: silentLog });
    servers.push(on);
    const off = await startTessera({ ...base, audit: { ...base.audit, enabled: false } }, { keyring, log: silentLog });
    servers.push(off);
    const adminOn = createGrpcClient(TokenAdminService, `127.0.0.1:${on.grpcPort}`);
    const adminOff = createGrpcClient(TokenAdminService, `127.0.0.1:${off.grpcPort}`);
    clients.push(adminOn, adminOff);

    const s = await adminOn.setup({ userName: "root", organizationIdentifier: "bench", bucketName: "main" });
    const op = s.tokenValue;
    const orgs = [s.organization!.id];
    for (let i = 1; i < 8; i++) orgs.push((await adminOn.createOrganization({ identifier: `bench-${i}` }, auth(op))).organization!.id);
    const tokensIn = async (orgIds: string[]): Promise<string[]> => {
      const ids: string[] = [];
      for (let i = 0; i < IN_FLIGHT; i++) {
        const orgId = orgIds[i % orgIds.length]!;
        ids.push(
          (
            await adminOn.createToken(
              { organizationId: orgId, name: `t-${ids.length}-${orgIds.length}`, kind: TokenKind.INGESTION },
              auth(op),
            )
          ).token!.id,
        );
      }
      return ids;
    };
    const oneOrg = await tokensIn([orgs[0]!]);
    const eightOrgs = await tokensIn(orgs);

    const rate = async (client: Admin, ids: string[]): Promise<{ perSecond: number; p50: number; p99: number }> => {
      const until = performance.now() + SECONDS * 1000;
      const latencies: number[] = [];
      await Promise.all(
        ids.map(async (id, i) => {
          for (let n = i; performance.now() < until; n++) {
            const t0 = performance.now();
            await client.setTokenEnabled({ id, enabled: n % 2 === 0 }, auth(op));
            latencies.push(performance.now() - t0);
          }
        }),
      );
      const p = percentiles(latencies);
      return { perSecond: latencies.length / SECONDS, p50: p.p50, p99: p.p99 };
    };

    console.log(`SetTokenEnabled, ${IN_FLIGHT} in flight, ${ROUNDS} × ${SECONDS} s per arm, rounds interleaved`);
    for (const [label, ids] of [
      ["one organization", oneOrg],
      ["eight organizations", eightOrgs],
    ] as const) {
      await rate(adminOn, ids); // warm-up, both arms
      await rate(adminOff, ids);
      const withAudit: number[] = [];
      const without: number[] = [];
      let lat = { on: [0, 0], off: [0, 0] };
      for (let r = 0; r < ROUNDS; r++) {
        const a = await rate(adminOn, ids);
        const b = await rate(adminOff, ids);
        withAudit.push(a.perSecond);
        without.push(b.perSecond);
        lat = { on: [a.p50, a.p99], off: [b.p50, b.p99] };
      }
      const med = (v: number[]) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)]!;
      const ratios = withAudit.map((v, i) => v / without[i]!);
      console.log(
        `  ${label.padEnd(20)} with trail ${med(withAudit).toFixed(0)}/s, without ${med(without).toFixed(0)}/s: ratio ${(med(withAudit) / med(without)).toFixed(2)} ` +
          `(rounds ${ratios.map((x) => x.toFixed(2)).join(", ")}); last round p50/p99 ${lat.on[0]!.toFixed(2)}/${lat.on[1]!.toFixed(2)} ms vs ${lat.off[0]!.toFixed(2)}/${lat.off[1]!.toFixed(2)} ms`,
      );
    }

    // A long trail, written through the real writer into a fresh organization's trail.
    const target = (await adminOn.createOrganization({ identifier: "bench-long-trail" }, auth(op))).organization!.id;
    for (const c of clients.splice(0)) c.close();
    for (const x of servers.splice(0).reverse()) await x.close();
    const db = createDatabase({ url: pg.appUrl, poolSize: 4 });
    try {
      const trail = createAuditTrail(keyring);
      const draft = (i: number): AuditDraft => ({
        actor: { token_id: "5f0c1f7e-8a51-4a2b-9a53-2a0f4a1d7c11", token_kind: "ALL_ACCESS", organization_id: target },
        action: i % 2 === 0 ? "token.disable" : "token.enable",
        target: { type: "token", id: "0c7f4d7e-3b0a-4f8e-9d55-6b1a2c3d4e5f", name: "fleet-ingest" },
        before: { enabled: i % 2 === 1 },
        after: { enabled: i % 2 === 0 },
        requestId: `bench-${i}`,
        peer: "127.0.0.1:50000",
        userAgent: "grpc-node-js/1.14",
        rpc: "/tessera.v1.TokenAdminService/SetTokenEnabled",
        outcome: "OK",
        reason: "",
      });
      const BATCH = 2000;
      const t0 = performance.now();
      for (let i = 0; i < ENTRIES; i += BATCH) {
        const n = Math.min(BATCH, ENTRIES - i);
        await db.withOrg(target, (tx) =>
          trail.append(
            tx,
            Array.from({ length: n }, (_, j) => draft(i + j)),
          ),
        );
      }
      const wrote = (performance.now() - t0) / 1000;
      console.log(
        `Trail of ${ENTRIES.toLocaleString("en")} entries written in ${wrote.toFixed(1)} s (${(ENTRIES / wrote).toFixed(0)} entries/s in batches of ${BATCH})`,
      );
      // The servers are closed: this is the only sealer, and one call seals everything.
      const ts = performance.now();
      const sealed = await sealPending(db, keyring);
      const sealTook = (performance.now() - ts) / 1000;
      console.log(`Sealed into the chain in ${sealTook.toFixed(1)} s (${(sealed / sealTook).toFixed(0)} entries/s)`);
      const t1 = performance.now();
      const report = await verifyTrail(db, keyring, target);
      const took = (performance.now() - t1) / 1000;
      if (report.problems.length > 0 || report.checked < ENTRIES)
        throw new Error(`verify found problems: ${JSON.stringify(report.problems.slice(0, 3))}`);
      console.log(
        `audit verify: ${report.checked.toLocaleString("en")} entries in ${took.toFixed(1)} s (${(report.checked / took).toFixed(0)} entries/s), intact`,
      );
    } finally {
      await db.close();
    }
  } finally {
    for (const c of clients) c.close();
    for (const s of servers.reverse()) await s.close();
    await pg.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

/**
 * The log while PostgreSQL is down under Verify load (issue 10, defect 7): state changes and a
 * count per interval, not a line (with a stack) per refused call; never a token value.
 */
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { EndpointClass, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { getCluster } from "../helpers/cluster.js";
import { useSetUpServer } from "../helpers/fixture.js";
import { createOrg, issue, type IssuedToken } from "../helpers/seed.js";
import { assertNoSecret } from "../service/support.js";

/** How long the database stays down: the scenario itself, not a wait for something to happen. */
const OUTAGE_MS = 10_000;
const COUNT_INTERVAL_MS = 2_000;

describe("the log during a database outage", function () {
  this.timeout(120_000);
  const f = useSetUpServer({ options: { unavailableLogIntervalMs: COUNT_INTERVAL_MS } });

  it(`holds state changes and periodic counts only, through a ${OUTAGE_MS / 1000} s outage under Verify load`, async function () {
    const org = await createOrg(f.c, f.inst.operatorToken);
    const tokens: IssuedToken[] = await Promise.all(
      Array.from({ length: 40 }, () => issue(f.c, org.adminToken, { kind: TokenKind.INGESTION })),
    );
    const n = { valid: 0, unavailable: 0, other: 0 };
    let stop = false;
    const load = Array.from({ length: 16 }, async (_, w) => {
      for (let i = w; !stop; i++) {
        try {
          const r = await f.clients[i % 2]!.verify.verify(
            { credential: tokens[i % tokens.length]!.value, organization: org.identifier, endpoint: EndpointClass.INGEST },
            f.inst.verifierToken,
          );
          if (r.status === VerifyStatus.VALID) n.valid++;
          else n.other++;
        } catch (err) {
          if (err instanceof ConnectError && err.code === Code.Unavailable) n.unavailable++;
          else n.other++;
          // A refusal comes back at once; give the event loop a turn so the server runs too.
          await new Promise((r) => setImmediate(r));
        }
      }
    });
    const until = async (what: string, ok: () => boolean, ms = 60_000) => {
      const deadline = Date.now() + ms;
      while (!ok()) {
        if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await until("answers before the outage", () => n.valid > 200);

    const cluster = getCluster();
    const mark = f.server.logs.length;
    const validBefore = n.valid;
    await cluster.stop();
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    await cluster.start();
    const unavailable = n.unavailable;
    const validAtRestart = n.valid;
    await until("Verify answering again", () => n.valid > validAtRestart + 100);
    const ended = () => f.server.logs.slice(mark).some((l) => l.includes('"event":"rpc_unavailable_ended"'));
    await until("the end of the refusals in the log", ended, 30_000);
    stop = true;
    await Promise.all(load);

    const lines = f.server.logs.slice(mark);
    const events = lines.map((l) => (JSON.parse(l) as { event: string }).event);
    const byEvent = new Map<string, number>();
    for (const e of events) byEvent.set(e, (byEvent.get(e) ?? 0) + 1);
    this.test!.title +=
      ` [${unavailable} calls refused, ${lines.length} log lines: ${[...byEvent].map(([e, c]) => `${e} ${c}`).join(", ")}]`;

    assert.ok(unavailable > 100, `the load saw only ${unavailable} refusals`);
    assert.equal(n.other, 0, "every call was answered VALID or refused as UNAVAILABLE");
    assert.ok(validBefore > 0);
    assert.equal(byEvent.get("rpc_unavailable_started"), 1);
    assert.equal(byEvent.get("rpc_unavailable_ended"), 1);
    assert.equal(byEvent.get("rpc_internal_error") ?? 0, 0);
    // Each count line covers an interval; the outage and the time to notice its end bound them.
    assert.ok((byEvent.get("rpc_unavailable_ongoing") ?? 0) <= Math.ceil(OUTAGE_MS / COUNT_INTERVAL_MS) + 3);
    assert.ok(lines.length <= 60, `${lines.length} log lines for one outage`);
    const counted = lines
      .map((l) => JSON.parse(l) as { event: string; refused?: number })
      .filter((l) => l.event === "rpc_unavailable_ended")
      .map((l) => l.refused ?? 0)[0]!;
    assert.ok(counted >= unavailable, `the log counted ${counted} refusals, the clients saw ${unavailable}`);
    const all = lines.join("\n");
    assert.doesNotMatch(all, /"stack"|\s+at\s+\S+\s+\(/, "a stack trace in the log");
    for (const t of [...tokens, { value: f.inst.verifierToken, id: "" }]) assertNoSecret(all, t.value, "the log");
  });
});

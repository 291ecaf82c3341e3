/**
 * The admin console's Audit tab in a real browser (Debian's chromium through playwright-core):
 * changes made in the console are listed newest first with their actor and the fields before and
 * after, each with its request details; the filters narrow the list and More pages it; refused
 * calls are marked refused, and a non-ADMIN is told in plain words that the trail needs the ADMIN
 * role; an entry not yet linked into the chain shows as pending, and with its number once linked;
 * Verify chain says the trail is intact, and names the entry the database superuser changed and
 * the row it added; data from entries is never parsed as HTML. Every state is saved as a
 * screenshot in .test-output/console/.
 *
 * Entries get their sequence numbers from the sealer about a second after they commit: rows are
 * keyed by entry id, and wherever a test compares numbers it first waits until the entries are sealed.
 */
import assert from "node:assert/strict";
import pg from "pg";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { ConnectError } from "@connectrpc/connect";
import { AuditOutcome, AuditProblemKind } from "../../src/gen/tessera/v1/audit_pb.js";
import { Role, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { grpcJsClients, type Clients } from "../helpers/clients.js";
import { superQuery } from "../helpers/db.js";
import { addMember, createOrg, setupInstance, type Instance, type SeededOrg } from "../helpers/seed.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { eventually } from "../helpers/wait.js";
import { launchChromium, screenshot, signIn, unexpected, watchedPage } from "./browser.js";

const INSTANCE = "00000000-0000-0000-0000-000000000000";
/** Markup where an entry holds text a caller chose: it must show as these characters. */
const HTML_DESCRIPTION = `<img src=x onerror="document.title='owned'"><b>bold</b>`;
const HTML_USER_AGENT = `Mozilla/5.0 (console test) <img src=x onerror="document.title='owned'">`;

describe("admin console: the Audit tab", function () {
  this.timeout(180_000);
  let server: TestServer;
  let port: number;
  let c: Clients;
  let inst: Instance;
  let org: SeededOrg;
  let browser: Browser;
  let page: Page;
  const contexts: BrowserContext[] = [];
  const problems: string[] = [];
  /** The console's token, created in the first test. */
  let tokenId = "";

  before(async () => {
    server = await startTestServer();
    port = server.tessera.httpPort;
    c = grpcJsClients(server.tessera.grpcPort);
    inst = await setupInstance(c);
    org = await createOrg(c, inst.operatorToken);
    browser = await launchChromium();
    page = await watchedPage(browser, problems);
    await signIn(page, port, org.adminToken, org.identifier);
  });
  after(async () => {
    for (const x of contexts) await x.close();
    await browser?.close();
    c?.close();
    await server?.close();
  });

  /** The trail through the API, newest first, for comparing with what the tab lists. */
  const apiTrail = async (token: string, filters: Record<string, unknown> = {}) => {
    const out = [];
    let pageToken = "";
    do {
      const r = await c.admin.listAuditEvents({ pageSize: 1000, pageToken, ...filters }, token);
      out.push(...r.events);
      pageToken = r.nextPageToken;
    } while (pageToken !== "");
    return out;
  };
  /** The same, once every entry in it has been linked into the chain (has its sequence number). */
  const sealedTrail = (token: string, filters: Record<string, unknown> = {}) =>
    eventually(
      async () => {
        const t = await apiTrail(token, filters);
        return t.every((e) => e.sequence > 0n) ? t : undefined;
      },
      15_000,
      "the entries to be linked into the chain",
    );
  /** What the tab should list for these entries: [id, sequence ("" while pending), action]. */
  const rowsOf = (events: Array<{ id: string; sequence: bigint; action: string }>) =>
    events.map((e) => [e.id, e.sequence > 0n ? String(e.sequence) : "", e.action]);
  /** Waits until the tab's latest list request has been answered and shown. */
  const idle = (p: Page = page) => p.locator('#audit[aria-busy="false"]').waitFor({ state: "attached" });
  const openAudit = async (p: Page = page) => {
    await p.getByRole("tab", { name: "Audit" }).click();
    await idle(p);
  };
  /** Lists again with the filters as they are. */
  const filter = async (p: Page = page) => {
    await p.locator("#audit-filters").getByRole("button", { name: "Filter", exact: true }).click();
    await idle(p);
  };
  const filterAction = async (action: string) => {
    await page.getByLabel("Filter by action or area").fill(action);
    await page.getByLabel("Filter by action or area").press("Enter");
    await idle();
  };
  /** The listed entries, [id, sequence ("" while pending), action], in table order. */
  const listed = (p: Page = page) =>
    p.evaluate<Array<[string, string, string]>>(
      '[...document.querySelectorAll("#audit-body tr[data-id]")].map((r) => ["id", "seq", "action"].map((k) => r.getAttribute("data-" + k)))',
    );
  const row = (id: string) => page.locator(`#audit-body tr[data-id="${id}"]`);
  /** A row's cells: entry number, time, actor, action, target, outcome, changes, details button. */
  const cells = async (id: string) => row(id).locator("td").allTextContents();
  const detailsButton = (id: string) => row(id).getByRole("button", { name: /^Details of / });
  const refusal = (p: Promise<unknown>) =>
    p.then(
      () => assert.fail("the request must be refused"),
      (e: unknown) => ConnectError.from(e).rawMessage,
    );
  const sentence = (s: string) => s[0]!.toUpperCase() + s.slice(1) + (/[.!?]$/.test(s) ? "" : ".");

  it("lists the changes made in the console, newest first, with the actor and the fields before → after", async () => {
    // Three changes through the console's own forms: create, disable, edit.
    await page.locator("#new-token").click();
    await page.locator("#ct-name").fill("au-ingest");
    await page.getByRole("dialog").getByLabel("Ingestion", { exact: true }).check();
    await page.locator("#ct-description").fill("first");
    await page.locator("#ct-submit").click();
    await page.locator("#secret").waitFor({ state: "visible" });
    const value = ((await page.locator("#secret-value").textContent()) ?? "").trim();
    await page.getByRole("button", { name: "Dismiss", exact: true }).click();
    await page.getByRole("button", { name: "Disable au-ingest" }).click();
    await page.getByRole("button", { name: "Enable au-ingest" }).waitFor();
    await page.getByRole("button", { name: "Edit au-ingest" }).click();
    await page.getByLabel("Description of au-ingest").fill("second");
    await page.locator('#tokens-body tr[data-token-name="au-ingest"]').getByRole("button", { name: "Save" }).click();
    await page.locator('#tokens-body tr[data-token-name="au-ingest"] .description', { hasText: "second" }).waitFor();
    tokenId = (await page.locator('#tokens-body tr[data-token-name="au-ingest"]').getAttribute("data-token-id")) ?? "";
    assert.match(tokenId, /^[0-9a-f-]{36}$/);

    const api = await sealedTrail(org.adminToken);
    await openAudit();
    assert.equal(await page.locator("#view-manage").isVisible(), false, "one tab's panel at a time");
    assert.equal(await page.getByRole("tab", { name: "Audit" }).getAttribute("aria-selected"), "true");
    assert.deepEqual(await listed(), rowsOf(api), "the tab lists what the API answers, newest first, numbered");
    assert.deepEqual(
      api.map((e) => Number(e.sequence)),
      api.map((_, i) => api.length - i),
      "numbered 1, 2, 3, … in the chain",
    );
    const [upd, dis, cre] = api;
    assert.deepEqual(
      [upd, dis, cre].map((e) => [e?.action, e?.target?.id]),
      [
        ["token.update", tokenId],
        ["token.disable", tokenId],
        ["token.create", tokenId],
      ],
    );

    // The disable: who (this tab's token, marked), what, on what, done, enabled true → false.
    const you = `all access token ${org.adminTokenId.slice(0, 8)}… (you)`;
    const [entry, , actor, action, target, outcome] = await cells(dis!.id);
    assert.equal(entry, `#${dis!.sequence}`);
    assert.equal(actor, you);
    assert.equal(action, "token.disable");
    assert.equal(target, `token au-ingest${tokenId.slice(0, 8)}…`);
    assert.equal(outcome, "done");
    assert.equal(await row(dis!.id).locator('li[data-field="enabled"]').textContent(), "enabled: true → false");
    assert.equal(await row(upd!.id).locator('li[data-field="description"]').textContent(), "description: first → second");
    const created = row(cre!.id).locator("td.changes");
    assert.match((await created.textContent()) ?? "", /^created with/);
    assert.equal(await created.locator('li[data-field="description"]').textContent(), "description: first");
    assert.equal(await created.locator('li[data-field="kind"]').textContent(), "kind: INGESTION");
    assert.equal(cre!.after?.expire_time, null);
    assert.equal(await created.locator('li[data-field="expire_time"]').count(), 0, "a creation lists only what was set");
    assert.ok(!((await page.locator("#audit-body").textContent()) ?? "").includes(value), "no token value in the trail");

    // The organization's creation: by the operator, from another organization.
    const orgCreate = api.find((e) => e.action === "organization.create")!;
    const [, , opActor] = await cells(orgCreate.id);
    assert.match(opActor!, /^operator token [0-9a-f]{8}…from organization [0-9a-f]{8}…$/);
    assert.ok(opActor!.includes(inst.orgId.slice(0, 8)));

    // Details: the request behind the entry, as the API has it.
    const details = page.locator(`#audit-details-${dis!.id}`);
    const toggle = page.getByRole("button", { name: `Details of entry #${dis!.sequence}`, exact: true });
    assert.equal(await details.isVisible(), false);
    await toggle.click();
    await details.waitFor({ state: "visible" });
    assert.equal(await toggle.getAttribute("aria-expanded"), "true");
    assert.equal(await toggle.getAttribute("aria-controls"), `audit-details-${dis!.id}`);
    const fact = (name: string) => details.locator(`dd[data-fact="${name}"]`).textContent();
    assert.equal(await fact("Entry"), `#${dis!.sequence}`);
    assert.equal(await fact("Entry id"), dis!.id);
    assert.equal(dis!.hash.length, 32);
    assert.equal(await fact("Hash"), Buffer.from(dis!.hash).toString("hex"));
    assert.equal(await fact("Request id"), dis!.requestId);
    assert.equal(await fact("RPC"), "/tessera.v1.TokenAdminService/SetTokenEnabled");
    assert.match((await fact("Peer")) ?? "", /127\.0\.0\.1/);
    assert.match((await fact("User agent")) ?? "", /HeadlessChrome/);
    assert.equal(await fact("Reason"), "—");
    assert.equal(await fact("Actor user id"), org.adminUserId);
    await screenshot(page, "audit-1-list-with-details");
    await toggle.click();
    await details.waitFor({ state: "hidden" });
  });

  it("narrows by action, area and target, sends the time range, and pages with More", async () => {
    await filterAction("token.disable");
    assert.deepEqual(
      (await listed()).map(([, , a]) => a),
      ["token.disable"],
    );
    await filterAction("Token.");
    const tokens = await listed();
    assert.ok(tokens.length >= 5, "the area, typed in capitals");
    assert.ok(tokens.every(([, , a]) => a.startsWith("token.")));
    assert.deepEqual(
      tokens.map(([id]) => id),
      (await apiTrail(org.adminToken, { action: "token." })).map((e) => e.id),
    );

    await filterAction("");
    await page.getByLabel("Filter by target id").fill(tokenId);
    await page.getByLabel("Filter by target id").press("Enter");
    await idle();
    assert.deepEqual(
      (await listed()).map(([, , a]) => a),
      ["token.update", "token.disable", "token.create"],
    );
    await page.getByLabel("Filter by target id").fill("");

    // Nothing matches: said so, with no stale More.
    await filterAction("bucket.delete");
    assert.deepEqual(await listed(), []);
    assert.equal(await page.locator("#audit-empty").isVisible(), true);
    assert.equal(await page.getByRole("button", { name: "More entries" }).isVisible(), false);

    // The time range is a start time counted back from now.
    await filterAction("");
    const sent = page.waitForRequest((r) => r.url().endsWith("/ListAuditEvents") && (r.postData() ?? "").includes("startTime"));
    await page.getByLabel("Time range").selectOption("3600");
    const body = JSON.parse((await sent).postData() ?? "{}") as { startTime?: string };
    const back = Date.now() - Date.parse(body.startTime ?? "");
    assert.ok(back >= 3_600_000 && back < 3_660_000, `an hour back (${back} ms)`);
    await idle();
    assert.ok((await listed()).length > 0, "the changes of the last hour");

    // Paging: 55 more creations; 50 a page, More for the rest, newest first throughout.
    for (let i = 0; i < 55; i++) {
      await c.admin.createToken({ name: `au-bulk-${String(i).padStart(2, "0")}`, kind: TokenKind.INGESTION }, org.adminToken);
    }
    const all = await sealedTrail(org.adminToken, { action: "token.create" });
    assert.ok(all.length > 55);
    await filterAction("token.create");
    assert.equal((await listed()).length, 50);
    const more = page.getByRole("button", { name: "More entries" });
    await more.click();
    await more.waitFor({ state: "hidden" });
    await idle();
    assert.deepEqual(await listed(), rowsOf(all), "both pages, newest first, numbered as the API numbers them");
    await screenshot(page, "audit-2-filtered-paged", page.locator("#audit-filters"));
    await page.getByLabel("Time range").selectOption("");
    await idle();
  });

  it("shows a refused filter next to the filters in plain words, keeping the list", async () => {
    await filterAction("token.");
    const before = await listed();
    const expected = await refusal(c.admin.listAuditEvents({ action: "token disable" }, org.adminToken));
    await filterAction("token disable");
    const error = page.locator("#audit-error");
    await error.waitFor({ state: "visible" });
    assert.equal(await error.textContent(), sentence(expected));
    assert.doesNotMatch((await error.textContent()) ?? "", /invalid_argument|\[|:/);
    assert.equal(await page.locator("#alert").isVisible(), false, "not the page-wide alert");
    assert.deepEqual(await listed(), before, "the list stays as it was");
    await screenshot(page, "audit-3-refused-filter", page.locator("#audit-filters"));

    const badTarget = await refusal(c.admin.listAuditEvents({ targetId: "a b" }, org.adminToken));
    await filterAction("");
    await page.getByLabel("Filter by target id").fill("a b");
    await page.getByLabel("Filter by target id").press("Enter");
    await idle();
    assert.equal(await error.textContent(), sentence(badTarget));
    await page.getByLabel("Filter by target id").fill("");
    await filter();
    await error.waitFor({ state: "hidden" });
  });

  it("tells a non-ADMIN the trail needs the ADMIN role, and lists the refusal, marked refused", async () => {
    // An ALL_ACCESS token whose owner is a VIEWER: it signs in, and may not read the trail.
    const viewerId = await addMember(c, org.adminToken, org.orgId, Role.ADMIN, `${org.identifier}-viewer`);
    const viewer = await c.admin.createToken({ name: "au-viewer", kind: TokenKind.ALL_ACCESS, userId: viewerId }, org.adminToken);
    await c.admin.setMembership({ organizationId: org.orgId, userId: viewerId, role: Role.VIEWER }, org.adminToken);
    const ctx = await browser.newContext({ userAgent: HTML_USER_AGENT });
    contexts.push(ctx);
    const vpage = await watchedPage(ctx, problems);
    await signIn(vpage, port, viewer.value, org.identifier);
    await openAudit(vpage);
    const denied = vpage.locator("#audit-denied");
    await denied.waitFor({ state: "visible" });
    assert.equal(
      await denied.textContent(),
      "The audit trail needs the ADMIN role in this organization. This token acts with the viewer role. " +
        "Ask one of its admins, or sign in with an admin's token.",
    );
    assert.equal(await vpage.locator("#audit-content").isVisible(), false, "no filters, table or verify button");
    assert.doesNotMatch(await vpage.evaluate<string>("document.body.innerText"), /permission_denied/);
    await screenshot(vpage, "audit-4-not-admin");

    // The admin's tab: the refusal, marked as one, with the viewer's token and the reason.
    await page.getByLabel("Filter by outcome").selectOption("AUDIT_OUTCOME_PERMISSION_DENIED");
    // Refusals are recorded off the answer's path: wait until the API lists it, then list again.
    const entry = await eventually(
      async () =>
        (await apiTrail(org.adminToken, { outcome: AuditOutcome.PERMISSION_DENIED })).find(
          (e) => e.rpc === "/tessera.v1.TokenAdminService/ListAuditEvents" && e.actor?.tokenId === viewer.token!.id,
        ),
      15_000,
      "the refusal to be recorded",
    );
    await filter();
    assert.ok((await listed()).some(([id]) => id === entry.id));
    assert.ok((await listed()).every(([, , a]) => a === "call.denied"));
    const [, , actor, action, , outcome, changes] = await cells(entry.id);
    assert.equal(actor, `all access token ${viewer.token!.id.slice(0, 8)}…`);
    assert.equal(action, "call.denied");
    assert.equal(outcome, "refused: not allowed");
    assert.equal(changes, "nothing changed: reading the audit trail requires the ADMIN role");
    assert.match((await row(entry.id).getAttribute("class")) ?? "", /\brefused\b/);
    // The viewer's user agent, markup included, shows as text.
    await detailsButton(entry.id).click();
    const ua = page.locator(`#audit-details-${entry.id} dd[data-fact="User agent"]`);
    assert.equal(await ua.textContent(), HTML_USER_AGENT);
    assert.equal(await page.locator("#audit-body img").count(), 0, "no markup parsed from an entry");
    await screenshot(page, "audit-5-refused-call");
    await page.getByLabel("Filter by outcome").selectOption("");
    await idle();
  });

  it("shows what entries hold as text: a bucket description with markup appears as written", async () => {
    await page.getByRole("tab", { name: "Organization and tokens" }).click();
    await page.locator("#cb-name").fill("au-html");
    await page.locator("#cb-description").fill(HTML_DESCRIPTION);
    await page.getByRole("button", { name: "Create bucket" }).click();
    await page.locator('#buckets-body tr[data-bucket-name="au-html"]').waitFor();
    await openAudit();
    await filterAction("bucket.");
    const created = (await apiTrail(org.adminToken, { action: "bucket.create" })).find((e) => e.target?.name === "au-html")!;
    assert.equal(created.after?.description, HTML_DESCRIPTION);
    const [, , , action, target] = await cells(created.id);
    assert.equal(action, "bucket.create");
    assert.match(target!, /^bucket au-html/);
    assert.equal(
      await row(created.id).locator('li[data-field="description"] .after').textContent(),
      HTML_DESCRIPTION,
      "the characters as the admin typed them",
    );
    assert.equal(await page.locator("#audit-body img, #audit-body b").count(), 0);
    assert.equal(await page.title(), "Tessera admin console");
    await screenshot(page, "audit-6-markup-as-text");
    await filterAction("");
  });

  it("shows a fresh entry as pending until it is linked into the chain, then with its number", async () => {
    // The sealer links only entries whose transaction is older than every one still running: a
    // transaction held open (with an id) keeps what commits after it pending for as long as it runs.
    const hold = new pg.Client({ connectionString: server.db.superuserUrl });
    await hold.connect();
    let held = true;
    try {
      await hold.query("BEGIN");
      await hold.query("SELECT pg_current_xact_id()");
      await page.getByRole("tab", { name: "Organization and tokens" }).click();
      await page.locator("#cb-name").fill("au-pending");
      await page.getByRole("button", { name: "Create bucket" }).click();
      await page.locator('#buckets-body tr[data-bucket-name="au-pending"]').waitFor();
      const fresh = (await apiTrail(org.adminToken, { action: "bucket.create" })).find((e) => e.target?.name === "au-pending")!;
      assert.equal(fresh.sequence, 0n, "not linked in yet");
      assert.equal(fresh.hash.length, 0);
      assert.match(fresh.id, /^[0-9a-f-]{36}$/);

      await openAudit();
      assert.equal((await listed())[0]?.[0], fresh.id, "the newest entry, first");
      assert.equal(await row(fresh.id).getAttribute("data-seq"), "");
      const entry = row(fresh.id).locator("td.seq");
      assert.equal(await entry.textContent(), "pending");
      assert.match((await entry.getAttribute("title")) ?? "", /being linked into the chain/);
      const [, , , action, target] = await cells(fresh.id);
      assert.equal(action, "bucket.create");
      assert.match(target!, /^bucket au-pending/);
      const toggle = detailsButton(fresh.id);
      assert.equal(await toggle.getAttribute("aria-label"), `Details of pending entry ${fresh.id.slice(0, 8)}…`);
      await toggle.click();
      const details = page.locator(`#audit-details-${fresh.id}`);
      await details.waitFor({ state: "visible" });
      assert.equal(await details.locator('dd[data-fact="Entry"]').textContent(), "pending: being linked into the chain");
      assert.equal(await details.locator('dd[data-fact="Entry id"]').textContent(), fresh.id);
      assert.equal(await details.locator('dd[data-fact="Hash"]').textContent(), "—");
      await screenshot(page, "audit-7-pending-entry", page.locator("#audit-filters"));

      // Released: the sealer links it in; listing again shows its number and hash, same row.
      await hold.query("ROLLBACK");
      held = false;
      const sealed = await eventually(
        async () => (await apiTrail(org.adminToken, { targetId: fresh.target!.id })).find((e) => e.id === fresh.id && e.sequence > 0n),
        15_000,
        "the entry to be linked into the chain",
      );
      await filter();
      assert.equal(await row(fresh.id).getAttribute("data-seq"), String(sealed.sequence));
      assert.equal(await entry.textContent(), `#${sealed.sequence}`);
      assert.equal(await entry.getAttribute("title"), null);
      assert.equal(await detailsButton(fresh.id).getAttribute("aria-label"), `Details of entry #${sealed.sequence}`);
      await detailsButton(fresh.id).click();
      await details.waitFor({ state: "visible" });
      assert.equal(await details.locator('dd[data-fact="Entry"]').textContent(), `#${sealed.sequence}`);
      assert.equal(await details.locator('dd[data-fact="Hash"]').textContent(), Buffer.from(sealed.hash).toString("hex"));
      await detailsButton(fresh.id).click();
    } finally {
      if (held) await hold.query("ROLLBACK").catch(() => undefined);
      await hold.end();
    }
  });

  it("verifies the chain: intact with its head, then the entry the database superuser changed and the row it added", async () => {
    // Numbers compared with the API's: everything linked in first, so both walks see the same chain.
    await sealedTrail(org.adminToken);
    const disable = (await apiTrail(org.adminToken, { action: "token.disable", targetId: tokenId }))[0]!;
    await page.getByRole("button", { name: "Verify chain" }).click();
    const status = page.locator("#audit-verify-status");
    await page.locator("#audit-verify-status.verify-ok").waitFor();
    const ok = await c.admin.verifyAuditLog({}, org.adminToken);
    assert.equal(ok.intact, true);
    const n = Number(ok.entriesChecked);
    assert.ok(n > 60);
    assert.equal(
      await status.textContent(),
      `Intact: ${n} entries checked (entries #${ok.firstSequence} to #${ok.lastSequence}); none was changed, removed or inserted. ` +
        `Head (the newest entry's hash, keep it to notice entries removed from the end later): ${Buffer.from(ok.headHash).toString("hex")}`,
    );
    assert.equal(await page.locator("#audit-problems").isVisible(), false);
    await screenshot(page, "audit-8-verify-intact", page.locator("#audit-verify-result"));

    // Behind the service's back: the reason of the entry sealed as the disable's rewritten, and a
    // copy of it added among the sealed ones (an old transaction id: the sealer never takes it).
    const changed = await superQuery<{ id: string }>(
      server.db,
      "UPDATE audit_events SET reason = 'x' WHERE id = (SELECT entry_id FROM audit_seals WHERE org_id = $1 AND seq = $2) RETURNING id::text AS id",
      [org.orgId, disable.sequence.toString()],
    );
    assert.deepEqual(changed, [{ id: disable.id }]);
    const [forged] = await superQuery<{ id: string }>(
      server.db,
      `INSERT INTO audit_events (xid, id, org_id, at, actor, action, target, before, after, request_id, peer, user_agent, rpc, outcome, reason, key_id, mac)
       SELECT '1'::xid8, gen_random_uuid(), org_id, at, actor, action, target, before, after, request_id, peer, user_agent, rpc, outcome, reason, key_id, mac
         FROM audit_events WHERE id = $1
       RETURNING id::text AS id`,
      [disable.id],
    );
    const bad = await c.admin.verifyAuditLog({}, org.adminToken);
    assert.equal(bad.intact, false);
    assert.deepEqual(
      bad.problems.map((p) => [p.sequence, AuditProblemKind[p.kind]]),
      [
        [disable.sequence, "CHANGED"],
        [0n, "INSERTED"],
      ],
    );

    await page.getByRole("button", { name: "Verify chain" }).click();
    await page.locator("#audit-verify-status.verify-bad").waitFor();
    assert.equal(
      await status.textContent(),
      `Not intact: 2 problems in ${Number(bad.entriesChecked)} entries checked (entries #${bad.firstSequence} to #${bad.lastSequence}).`,
    );
    assert.equal(
      await page.locator(`#audit-problems li[data-seq="${disable.sequence}"]`).textContent(),
      `Entry #${disable.sequence}: changed after it was written. ${sentence(bad.problems[0]!.detail)}`,
    );
    assert.equal(
      await page.locator('#audit-problems li[data-seq="0"]').textContent(),
      `An unnumbered entry: inserted: it was never part of the chain. ${sentence(bad.problems[1]!.detail)}`,
    );
    assert.equal(await page.locator("#audit-problems li").count(), 2);
    await screenshot(page, "audit-9-verify-tampered", page.locator("#audit-verify-result"));
    // The added row is listed as the API lists it: with no number.
    await filter();
    assert.equal(await row(forged!.id).getAttribute("data-seq"), "");
  });

  it("lets an operator read the instance's trail: refused unknown credentials", async () => {
    const ctx = await browser.newContext();
    contexts.push(ctx);
    const op = await watchedPage(ctx, problems);
    // A credential naming no token: refused, and recorded on the instance's trail.
    await op.goto(`http://127.0.0.1:${port}/`);
    await op.getByLabel("Token", { exact: true }).fill(`tsop_${"A".repeat(40)}`);
    await op.getByRole("button", { name: "Sign in" }).click();
    await op.getByRole("alert").waitFor({ state: "visible" });
    await signIn(op, port, inst.operatorToken, inst.identifier);
    await openAudit(op);
    assert.equal(await op.locator("#af-trail").isVisible(), true, "operators choose the trail");
    // Recorded off the answer's path, then linked in: wait for both, as the verify below is compared with the API's.
    const instance = await eventually(
      async () => {
        const t = await sealedTrail(inst.operatorToken, { organizationId: INSTANCE });
        return t.some((e) => e.action === "auth.refused") ? t : undefined;
      },
      15_000,
      "the refused credential to be recorded",
    );
    await op.locator("#af-trail").selectOption(INSTANCE);
    await idle(op);
    assert.deepEqual(await listed(op), rowsOf(instance.slice(0, 50)), "the instance's trail, as the API lists it");
    assert.ok((await listed(op)).some(([, , a]) => a === "auth.refused"));
    const refused = op.locator('#audit-body tr[data-action="auth.refused"]').first();
    const [, , actor, , , outcome] = await refused.locator("td").allTextContents();
    assert.equal(actor, "no recognized token");
    assert.equal(outcome, "refused: credential not accepted");
    await op.getByRole("button", { name: "Verify chain" }).click();
    await op.locator("#audit-verify-status.verify-ok").waitFor();
    const r = await c.admin.verifyAuditLog({ organizationId: INSTANCE }, inst.operatorToken);
    assert.match((await op.locator("#audit-verify-status").textContent()) ?? "", new RegExp(`^Intact: ${r.entriesChecked} entr`));
    await screenshot(op, "audit-10-operator-instance-trail");
    // An organization's admin has no such choice.
    assert.equal(await page.locator("#af-trail").isVisible(), false);
  });

  it("forgets the trail on sign-out and opens on the organization's tab again", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    assert.equal(await page.locator("#audit-body tr").count(), 0);
    assert.equal(await page.locator("#audit-verify-status").textContent(), "");
    await signIn(page, port, org.adminToken, org.identifier);
    assert.equal(await page.getByRole("tab", { name: "Organization and tokens" }).getAttribute("aria-selected"), "true");
    assert.equal(await page.locator("#view-audit").isVisible(), false);
    // Arrow keys move between tabs.
    await page.getByRole("tab", { name: "Organization and tokens" }).focus();
    await page.keyboard.press("ArrowRight");
    await idle();
    assert.equal(await page.getByRole("tab", { name: "Audit" }).getAttribute("aria-selected"), "true");
    assert.ok((await listed()).length > 0);
  });

  it("saw no script error or CSP violation", () => {
    assert.deepEqual(unexpected(problems), []);
  });
});

/**
 * The console's token page in a real browser (Debian's chromium) against a real server: the
 * organization switcher (an operator's, and a parent organization admin's for its
 * sub-organization; after a switch the list is that organization's alone), the columns (created
 * by, kind, permissions, expiry, last use), search, filters and sort, the create dialog with its
 * bucket pickers and signal checkboxes (checked against the API), errors under the field they
 * concern, and the tokens the page will not delete (the signed-in one, `default`).
 */
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { EndpointClass, Signal, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { grpcJsClients, type Clients } from "../helpers/clients.js";
import { createOrg, setupInstance, withAdmin, type Instance, type SeededOrg } from "../helpers/seed.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { eventually } from "../helpers/wait.js";
import { launchChromium, screenshot, signIn, unexpected, watchedPage } from "./browser.js";

describe("admin console: tokens", function () {
  this.timeout(120_000);
  let server: TestServer;
  let port: number;
  let c: Clients;
  let inst: Instance;
  let a: SeededOrg;
  let b: SeededOrg;
  let sub: SeededOrg;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  before(async () => {
    server = await startTestServer();
    port = server.tessera.httpPort;
    c = grpcJsClients(server.tessera.grpcPort);
    inst = await setupInstance(c);
    a = await createOrg(c, inst.operatorToken);
    b = await createOrg(c, inst.operatorToken);
    const subId = `${a.identifier}-sub`;
    sub = await withAdmin(
      c,
      inst.operatorToken,
      subId,
      await c.admin.createOrganization({ identifier: subId, parentId: a.orgId }, inst.operatorToken),
    );
    for (const name of ["telemetry", "web", "billing"]) await c.admin.createBucket({ organizationId: a.orgId, name }, a.adminToken);
    // Tokens only one organization has, by the organization's admin (so "Created by" names a member).
    await c.admin.createToken({ organizationId: a.orgId, name: "a-only", kind: TokenKind.INGESTION }, a.adminToken);
    await c.admin.createToken({ organizationId: b.orgId, name: "b-only", kind: TokenKind.INGESTION }, b.adminToken);
    await c.admin.createToken({ organizationId: sub.orgId, name: "sub-only", kind: TokenKind.INGESTION }, sub.adminToken);
    browser = await launchChromium();
    page = await watchedPage(browser, problems);
  });
  after(async () => {
    await browser?.close();
    c?.close();
    await server?.close();
  });

  const listedNames = () =>
    page.evaluate<string[]>(
      '[...document.querySelectorAll("#tokens-body tr[data-token-name]")].map((r) => r.getAttribute("data-token-name"))',
    );
  const waitForNames = async (names: string[], what = "") => {
    let seen: string[] = [];
    await eventually(
      async () => JSON.stringify((seen = await listedNames())) === JSON.stringify(names),
      15_000,
      `the table to list ${names.join(", ")} ${what}`,
    ).catch((e: unknown) => assert.fail(`${String(e)}; it lists ${seen.join(", ")}`));
  };
  const apiNames = async (orgId: string) =>
    (await c.admin.listTokens({ organizationId: orgId, pageSize: 1000 }, inst.operatorToken)).tokens.map((t) => t.name);
  const tokenNamed = async (orgId: string, name: string) =>
    (await c.admin.listTokens({ organizationId: orgId, namePrefix: name, pageSize: 1000 }, inst.operatorToken)).tokens.find(
      (t) => t.name === name,
    );
  const row = (name: string) => page.locator(`#tokens-body tr[data-token-name="${name}"]`);
  const cell = (name: string, cls: string) => row(name).locator(`td.${cls}`);
  const pageText = () => page.evaluate<string>("document.documentElement.outerHTML + document.body.innerText");

  it("lets an operator switch organizations: each list then holds that organization's tokens alone", async () => {
    await signIn(page, port, inst.operatorToken, inst.identifier);
    const switcher = page.getByLabel("Switch organization");
    await switcher.waitFor();
    const options = await switcher.locator("option").allTextContents();
    assert.equal(options.length, 4, `every organization: ${options.join(" | ")}`);
    assert.ok(
      options.some((o) => o.includes(`↳ ${sub.identifier}`)),
      "the sub-organization under its parent",
    );
    assert.equal(await switcher.inputValue(), inst.orgId, "the token's own organization first");
    await screenshot(page, "tokens-1-operator-own-org");

    await switcher.selectOption(a.orgId);
    await page.locator("#org-identifier", { hasText: a.identifier }).waitFor();
    await waitForNames(await apiNames(a.orgId), `of ${a.identifier}`);
    assert.ok((await listedNames()).includes("a-only"));
    assert.ok(!(await listedNames()).includes("b-only"));
    assert.match((await page.locator("#viewing").textContent()) ?? "", new RegExp(`managing ${a.identifier}, with an operator token`));
    await screenshot(page, "tokens-2-operator-switched");

    // Cross-tenant: after the switch, nothing of the other organization.
    await switcher.selectOption(b.orgId);
    await page.locator("#org-identifier", { hasText: b.identifier }).waitFor();
    await waitForNames(await apiNames(b.orgId), `of ${b.identifier}`);
    assert.deepEqual(await listedNames(), ["default", "admin-all", "b-only"]);
    await page.locator('#buckets-body tr[data-bucket-name="telemetry"]').waitFor({ state: "detached" });
    await page.locator(`#members-body tr[data-user-name="${b.identifier}-admin"]`).waitFor();
    assert.equal(await page.locator(`#members-body tr[data-user-name="${a.identifier}-admin"]`).count(), 0);

    // The audit tab reads the switched organization's trail.
    const asked = page.waitForRequest((r) => r.url().endsWith("/ListAuditEvents"));
    await page.getByRole("tab", { name: "Audit" }).click();
    assert.equal(JSON.parse((await asked).postData() ?? "{}").organizationId, b.orgId);
    await page.locator('#audit[aria-busy="false"]').waitFor({ state: "attached" });
    const targets = await page.locator("#audit-body tr:not(.details) td.target .name").allTextContents();
    assert.ok(targets.includes("b-only") && !targets.includes("a-only"), `b's trail: ${targets.join(", ")}`);
    await page.getByRole("tab", { name: "Organization and tokens" }).click();

    // A reload keeps the choice (an id in sessionStorage).
    await page.reload();
    await page.locator("#org-identifier", { hasText: b.identifier }).waitFor();
    assert.equal(await switcher.inputValue(), b.orgId);
    await waitForNames(["default", "admin-all", "b-only"]);
  });

  it("lets a parent organization's admin manage its sub-organization", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn(page, port, a.adminToken, a.identifier);
    const switcher = page.getByLabel("Switch organization");
    await switcher.waitFor();
    const values = await switcher.locator("option").evaluateAll((os) => os.map((o) => (o as unknown as { value: string }).value));
    assert.deepEqual(values, [a.orgId, sub.orgId], "its own and its sub-organization, no other");
    assert.equal(await page.locator("#viewing").isVisible(), false);
    await switcher.selectOption(sub.orgId);
    await page.locator("#org-identifier", { hasText: sub.identifier }).waitFor();
    await waitForNames(["default", "admin-all", "sub-only"]);
    assert.equal(
      await page.locator("#viewing").textContent(),
      `You are managing ${sub.identifier}, a sub-organization of ${a.identifier}, with a token of ${a.identifier}. Everything below is ${sub.identifier}'s.`,
    );
    assert.match((await page.locator("#org-parent").textContent()) ?? "", new RegExp(`^${a.identifier} \\(its tokens may reach`));
    await screenshot(page, "tokens-3-parent-admin-sub-org");

    // An all access token belongs to a member: this token's user is none of the sub-organization's.
    await page.locator("#new-token").click();
    const dialog = page.getByRole("dialog", { name: "Create a token" });
    assert.equal(await dialog.locator("#cd-org").textContent(), `In ${sub.identifier}`);
    await dialog.getByLabel("All access").check();
    await dialog.getByLabel("Name", { exact: true }).fill("sub-all");
    await dialog.getByRole("button", { name: "Create token" }).click();
    const error = dialog.locator("#ct-error");
    await error.waitFor({ state: "visible" });
    assert.match(
      (await error.textContent()) ?? "",
      new RegExp(`^Your user is not a member of ${sub.identifier}, and all access tokens belong to a member`),
    );
    await dialog.getByRole("button", { name: "Cancel" }).click();
    // Ingestion tokens belong to the organization: created there, listed there only.
    await page.locator("#new-token").click();
    await dialog.getByLabel("Name", { exact: true }).fill("sub-made");
    await dialog.getByRole("button", { name: "Create token" }).click();
    await page.locator("#secret").waitFor({ state: "visible" });
    await page.getByRole("button", { name: "Dismiss", exact: true }).click();
    await waitForNames(["default", "admin-all", "sub-only", "sub-made"]);
    assert.ok(await tokenNamed(sub.orgId, "sub-made"));
    assert.equal(await tokenNamed(a.orgId, "sub-made"), undefined);
    await switcher.selectOption(a.orgId);
    await page.locator("#org-identifier", { hasText: a.identifier }).waitFor();
    await waitForNames(await apiNames(a.orgId));
  });

  it("shows who created each token, its kind, permissions, expiry and last use", async () => {
    const soon = new Date(Date.now() + 3 * 86_400_000);
    const rw = await c.admin.createToken(
      {
        organizationId: a.orgId,
        name: "col-rw",
        kind: TokenKind.READ_WRITE,
        description: "dashboards backend",
        permissions: {
          bucketAccess: [
            { bucket: "telemetry", read: true, write: true },
            { bucket: "web", read: true, write: false },
          ],
        },
        expireTime: timestampFromDate(soon),
      },
      a.adminToken,
    );
    await c.admin.createToken(
      {
        organizationId: a.orgId,
        name: "col-ingest",
        kind: TokenKind.INGESTION,
        permissions: { signals: [Signal.LOGS, Signal.TRACES], buckets: ["web"] },
      },
      a.adminToken,
    );
    const used = await c.admin.createToken({ organizationId: a.orgId, name: "col-used", kind: TokenKind.INGESTION }, inst.operatorToken);
    const v = await c.verify.verify(
      { credential: used.value, organization: a.identifier, endpoint: EndpointClass.INGEST, signal: Signal.LOGS },
      inst.verifierToken,
    );
    assert.equal(v.status, VerifyStatus.VALID);
    const lastUsed = await eventually(async () => (await tokenNamed(a.orgId, "col-used"))?.lastUsedTime, 15_000, "the last use to show");
    await page.reload();
    await row("col-used").waitFor();

    assert.equal(await cell("col-rw", "kind").textContent(), "read/write");
    assert.equal(await cell("col-rw", "permissions").textContent(), "read: telemetry, web; write: telemetry");
    assert.equal(await cell("col-ingest", "permissions").textContent(), "write: web (logs, traces)");
    assert.equal(await cell("a-only", "permissions").textContent(), "write: every bucket (all signals)");
    assert.equal(await cell("admin-all", "permissions").textContent(), "all access");
    await eventually(
      async () => (await cell("col-rw", "creator").textContent()) === `${a.identifier}-admin (you)`,
      15_000,
      "the creator's name",
    );
    // The operator's user is no member of the organization: this token may not see it, and says so.
    const opCreator = cell("col-used", "creator");
    await eventually(async () => ((await opCreator.textContent()) ?? "").startsWith("user "), 15_000, "an unseen creator");
    assert.equal(
      await opCreator.getAttribute("title"),
      `${inst.operatorUserId}: a user this token cannot see (an operator, or a member elsewhere)`,
    );
    assert.equal(await cell("col-rw", "expiry").locator("div").textContent(), "in 3 days");
    const expTitle = (await cell("col-rw", "expiry").getAttribute("title")) ?? "";
    const exp = rw.token!.expireTime!;
    assert.equal(
      new Date(expTitle.split(" ")[0]!).getTime(),
      Number(exp.seconds) * 1000 + Math.floor(exp.nanos / 1e6),
      "the exact expiry as title",
    );
    assert.equal(await cell("a-only", "expiry").textContent(), "never");
    assert.equal(await cell("col-rw", "last-used").textContent(), "never");
    assert.match((await cell("col-used", "last-used").textContent()) ?? "", /^(just now|\d+ (second|minute)s? ago)$/);
    const title = (await cell("col-used", "last-used").getAttribute("title")) ?? "";
    assert.equal(
      new Date(title.split(" ")[0]!).getTime(),
      Number(lastUsed.seconds) * 1000 + Math.floor(lastUsed.nanos / 1e6),
      "the exact time as title",
    );
    assert.equal(await row("col-rw").locator(".description").textContent(), "dashboards backend");
    await screenshot(page, "tokens-4-columns", page.locator("#tokens"));
  });

  it("searches names and descriptions, filters by kind and state, and sorts by the column clicked", async () => {
    const search = page.getByLabel("Search name or description");
    await search.fill("BACKEND");
    await waitForNames(["col-rw"], "(found by its description)");
    assert.equal(await page.locator("#tokens-count").textContent(), `1 of ${(await apiNames(a.orgId)).length} tokens`);
    await search.fill("col-");
    await waitForNames(["col-rw", "col-ingest", "col-used"]);
    await search.fill("no such token");
    await waitForNames([]);
    assert.equal(await page.locator("#tokens-empty").isVisible(), true);
    await search.fill("");

    await page.getByLabel("Filter by kind").selectOption("TOKEN_KIND_READ_WRITE");
    await waitForNames(["col-rw"]);
    await page.getByLabel("Filter by kind").selectOption("");
    const used = (await tokenNamed(a.orgId, "col-used"))!;
    await c.admin.setTokenEnabled({ id: used.id, enabled: false }, a.adminToken);
    await page.getByLabel("Filter by state").selectOption("disabled");
    await waitForNames(["col-used"]);
    await page.getByLabel("Filter by state").selectOption("enabled");
    await waitForNames((await apiNames(a.orgId)).filter((n) => n !== "col-used"));
    // Search works within the server's filters.
    await search.fill("col-");
    await waitForNames(["col-rw", "col-ingest"]);
    await search.fill("");
    await page.getByLabel("Filter by state").selectOption("");
    await c.admin.setTokenEnabled({ id: used.id, enabled: true }, a.adminToken);
    await page.getByLabel("Filter by kind").selectOption("");

    const all = await apiNames(a.orgId);
    await waitForNames(all);
    const header = (label: string) => page.locator("#tokens thead th", { has: page.getByRole("button", { name: label, exact: true }) });
    await page.getByRole("button", { name: "Name", exact: true }).click();
    await waitForNames([...all].sort((x, y) => x.localeCompare(y)));
    assert.equal(await header("Name").getAttribute("aria-sort"), "ascending");
    await page.getByRole("button", { name: "Name", exact: true }).click();
    await waitForNames([...all].sort((x, y) => y.localeCompare(x)));
    assert.equal(await header("Name").getAttribute("aria-sort"), "descending");
    await screenshot(page, "tokens-5-sorted-by-name-desc", page.locator("#tokens"));

    // Expiry ascending: the one that expires first, then the others (never expiring) by name.
    await page.getByRole("button", { name: "Expires", exact: true }).click();
    await waitForNames(["col-rw", ...all.filter((n) => n !== "col-rw").sort((x, y) => x.localeCompare(y))]);
    assert.equal(await header("Name").getAttribute("aria-sort"), null, "one sorted column at a time");
    assert.equal(await header("Expires").getAttribute("aria-sort"), "ascending");
    // Last used, newest first (descending), the never used last (by name), as the API's times say.
    await page.getByRole("button", { name: "Refresh" }).click();
    await page.getByRole("button", { name: "Last used", exact: true }).click();
    await page.getByRole("button", { name: "Last used", exact: true }).click();
    const api = (await c.admin.listTokens({ organizationId: a.orgId, pageSize: 1000 }, a.adminToken)).tokens;
    const usedAt = (t: (typeof api)[number]) =>
      t.lastUsedTime ? Number(t.lastUsedTime.seconds) * 1000 + Math.floor(t.lastUsedTime.nanos / 1e6) : Number.NEGATIVE_INFINITY;
    const byUse = [...api].sort((x, y) => usedAt(y) - usedAt(x) || (usedAt(x) === usedAt(y) ? x.name.localeCompare(y.name) : 0));
    await waitForNames(byUse.map((t) => t.name));
    assert.ok(
      byUse.findIndex((t) => t.name === "col-used") < byUse.findIndex((t) => t.name === "col-rw"),
      "a used token before a never used one",
    );
    // Created ascending is the server's creation order (default first, it was made first).
    await page.getByRole("button", { name: "Created", exact: true }).click();
    const byCreation = [...api].sort(
      (x, y) => Number(x.createTime!.seconds - y.createTime!.seconds) || x.createTime!.nanos - y.createTime!.nanos,
    );
    assert.deepEqual(
      await listedNames(),
      byCreation.map((t) => t.name),
    );
  });

  it("creates an ingestion token in the dialog, with chosen signals and buckets picked from a search", async () => {
    await page.locator("#new-token").click();
    const dialog = page.getByRole("dialog", { name: "Create a token" });
    await dialog.waitFor();
    assert.equal(await dialog.locator("#cd-org").textContent(), `In ${a.identifier}`);
    assert.equal(await dialog.getByLabel("Verifier").isVisible(), false, "verifiers are for operators");
    await dialog.getByLabel("Name", { exact: true }).fill("dlg-ingest");
    await dialog.getByLabel("Description").fill("from the dialog");
    await dialog.getByLabel("Metrics").uncheck();
    await dialog.getByLabel("Only the buckets chosen here").check();
    const picker = dialog.locator("#ct-write-only");
    assert.deepEqual(await picker.locator("li[data-bucket]").evaluateAll((l) => l.map((x) => x.getAttribute("data-bucket"))), [
      "billing",
      "telemetry",
      "web",
    ]);
    await picker.getByLabel("Search buckets to write").fill("tel");
    assert.equal(await picker.locator("li[data-bucket]:visible").count(), 1, "the search narrows the list");
    await picker.getByLabel("Search buckets to write").press("Enter");
    assert.equal(await picker.locator(".picker-count").textContent(), "1 of 3 selected");
    await picker.getByLabel("Search buckets to write").fill("");
    await picker.getByLabel("Write: web").check();
    assert.equal(await picker.locator(".picker-count").textContent(), "2 of 3 selected");
    await screenshot(page, "tokens-6-dialog-ingestion");
    await dialog.getByRole("button", { name: "Create token" }).click();
    await dialog.waitFor({ state: "hidden" });

    const secret = page.locator("#secret");
    await secret.waitFor({ state: "visible" });
    const value = ((await page.locator("#secret-value").textContent()) ?? "").trim();
    assert.match(value, /^o2oi_/);
    const t = (await tokenNamed(a.orgId, "dlg-ingest"))!;
    assert.equal(t.kind, TokenKind.INGESTION);
    assert.equal(t.description, "from the dialog");
    assert.deepEqual(t.permissions?.signals, [Signal.LOGS, Signal.TRACES]);
    assert.deepEqual(t.permissions?.buckets, ["telemetry", "web"]);
    await cell("dlg-ingest", "permissions").waitFor();
    assert.equal(await cell("dlg-ingest", "permissions").textContent(), "write: telemetry, web (logs, traces)");
    await page.getByRole("button", { name: "Dismiss", exact: true }).click();
    assert.ok(!(await pageText()).includes(value), "dismissed, the value is gone");
  });

  it("creates a read/write token with separate read and write pickers, and a preset expiry", async () => {
    await page.locator("#new-token").click();
    const dialog = page.getByRole("dialog", { name: "Create a token" });
    await dialog.getByLabel("Read / write").check();
    assert.equal(await dialog.getByText("Signals it may write").isVisible(), false, "no signals for this kind");
    await dialog.getByLabel("Name", { exact: true }).fill("dlg-rw");
    const read = dialog.locator("#ct-read-slot");
    const write = dialog.locator("#ct-write-slot");
    await read.getByRole("button", { name: "Select all shown buckets to read" }).click();
    await read.getByLabel("Read: billing").uncheck();
    await write.getByLabel("Write: web").check();
    await dialog.getByLabel("Expires").selectOption("30");
    await screenshot(page, "tokens-7-dialog-read-write");
    await dialog.getByRole("button", { name: "Create token" }).click();
    await page.locator("#secret").waitFor({ state: "visible" });
    const t = (await tokenNamed(a.orgId, "dlg-rw"))!;
    assert.deepEqual(
      t.permissions?.bucketAccess.map((g) => [g.bucket, g.read, g.write]),
      [
        ["telemetry", true, false],
        ["web", true, true],
      ],
    );
    const left = Number(t.expireTime!.seconds) * 1000 - Date.now();
    assert.ok(left > 29.9 * 86_400_000 && left <= 30 * 86_400_000, `30 days (${left} ms)`);
    assert.equal(await cell("dlg-rw", "permissions").textContent(), "read: telemetry, web; write: web");
    await page.getByRole("button", { name: "Dismiss", exact: true }).click();
  });

  it("creates a shared token for named dashboards, with the expiry it needs", async () => {
    await page.locator("#new-token").click();
    const dialog = page.getByRole("dialog", { name: "Create a token" });
    await dialog.getByLabel("Expires").selectOption("");
    await dialog.getByLabel("Shared").check();
    assert.equal(await dialog.getByLabel("Expires").inputValue(), "30", "a shared token must expire: 30 days picked");
    await dialog.getByLabel("Name", { exact: true }).fill("dlg-shared");
    await dialog.getByRole("button", { name: "Create token" }).click();
    assert.equal(await dialog.locator("#ct-dashboards-error").textContent(), "Name at least one dashboard it may view.");
    await dialog.getByLabel("Dashboards it may view").fill("checkout, latency");
    await dialog.getByLabel("Expires").selectOption("");
    await dialog.getByRole("button", { name: "Create token" }).click();
    assert.equal(await dialog.locator("#ct-expiry-error").textContent(), "A shared token needs an expiry: choose when it ends.");
    await dialog.getByLabel("Expires").selectOption("7");
    await dialog.getByRole("button", { name: "Create token" }).click();
    await page.locator("#secret").waitFor({ state: "visible" });
    assert.equal(await page.locator("#secret-ingest").isVisible(), false, "no ingestion snippets for a shared token");
    await page.getByRole("button", { name: "Dismiss", exact: true }).click();
    const t = (await tokenNamed(a.orgId, "dlg-shared"))!;
    assert.equal(t.kind, TokenKind.SHARED);
    assert.deepEqual(t.permissions?.dashboards, ["checkout", "latency"]);
    assert.equal(await cell("dlg-shared", "permissions").textContent(), "view: checkout, latency");
  });

  it("says a mistake under the field it concerns, in plain words", async () => {
    await page.locator("#new-token").click();
    const dialog = page.getByRole("dialog", { name: "Create a token" });
    const nameError = dialog.locator("#ct-name-error");

    // Found before any request: no name, no bucket for a read/write token, no signal.
    await dialog.getByRole("button", { name: "Create token" }).click();
    assert.equal(await nameError.textContent(), "Give the token a name.");
    assert.equal(await dialog.getByLabel("Name", { exact: true }).getAttribute("aria-invalid"), "true");
    await dialog.getByLabel("Name", { exact: true }).fill("dlg-ingest");
    for (const s of ["Logs", "Metrics", "Traces"]) await dialog.getByLabel(s).uncheck();
    await dialog.getByRole("button", { name: "Create token" }).click();
    assert.equal(await dialog.locator("#ct-signals-error").textContent(), "Choose at least one signal it may write.");
    assert.equal(await nameError.isVisible(), false, "a fixed field's error goes");
    await dialog.getByLabel("Logs").check();

    // The server's refusal of a name in use, under the name, without its code.
    await dialog.getByRole("button", { name: "Create token" }).click();
    await nameError.waitFor({ state: "visible" });
    assert.equal(await nameError.textContent(), 'A token named "dlg-ingest" already exists in this organization.');
    assert.equal(await page.locator("#alert").isVisible(), false, "not the page-wide alert");
    assert.equal(await dialog.isVisible(), true, "the dialog stays open to fix it");
    assert.equal(await page.locator("#secret").isVisible(), false);
    assert.doesNotMatch((await dialog.textContent()) ?? "", /already_exists|invalid_argument/);
    await screenshot(page, "tokens-8-dialog-duplicate-name");
    await dialog.getByRole("button", { name: "Cancel" }).click();

    // An expiry beyond the organization's maximum lifetime, under the expiry.
    await c.admin.updateOrganization(
      { organization: { id: a.orgId, maxTokenLifetime: { seconds: 30n * 86_400n } }, updateMask: { paths: ["max_token_lifetime"] } },
      a.adminToken,
    );
    await page.reload();
    await row("default").waitFor();
    await page.locator("#new-token").click();
    assert.equal(
      await dialog.locator("#ct-expiry-hint").textContent(),
      "This organization's tokens must expire within 30d of their creation.",
    );
    assert.equal(await dialog.getByLabel("Expires").inputValue(), "30", "the longest preset it allows");
    assert.deepEqual(await dialog.getByLabel("Expires").locator("option:disabled").allTextContents(), ["Never", "In 90 days", "In a year"]);
    await dialog.getByLabel("Name", { exact: true }).fill("dlg-far");
    await dialog.getByLabel("Expires").selectOption("custom");
    const far = new Date(Date.now() + 60 * 86_400_000);
    const p = (n: number) => String(n).padStart(2, "0");
    await dialog.getByLabel("Expiry date and time").fill(`${far.getFullYear()}-${p(far.getMonth() + 1)}-${p(far.getDate())}T12:00`);
    await dialog.getByRole("button", { name: "Create token" }).click();
    const expiryError = dialog.locator("#ct-expiry-error");
    await expiryError.waitFor({ state: "visible" });
    assert.equal(await expiryError.textContent(), "The expiry is beyond this organization's maximum token lifetime (30d).");
    assert.equal(await tokenNamed(a.orgId, "dlg-far"), undefined);
    await screenshot(page, "tokens-9-dialog-expiry-beyond-lifetime");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await c.admin.updateOrganization({ organization: { id: a.orgId }, updateMask: { paths: ["max_token_lifetime"] } }, a.adminToken);
  });

  it("will not delete the token you are signed in with, nor the default token", async () => {
    await page.reload();
    await row("default").waitFor();
    const own = page.getByRole("button", { name: "Delete admin-all" });
    const passcode = page.getByRole("button", { name: "Delete default" });
    assert.equal(await own.isDisabled(), true);
    assert.equal(await own.getAttribute("title"), "This is the token you are signed in with: sign in with another token to delete it.");
    assert.equal(await row("admin-all").locator(".badge").textContent(), "you");
    assert.equal(await passcode.isDisabled(), true);
    assert.match((await passcode.getAttribute("title")) ?? "", /passcode and cannot be deleted: disable or rotate it instead/);
    assert.equal(await page.getByRole("button", { name: "Delete a-only" }).isDisabled(), false);
    await screenshot(page, "tokens-10-undeletable", page.locator("#tokens"));

    // Another organization's admin-all is not this tab's token: an operator may delete it there.
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn(page, port, inst.operatorToken, inst.identifier);
    await page.getByLabel("Switch organization").selectOption(a.orgId);
    await page.locator("#org-identifier", { hasText: a.identifier }).waitFor();
    await row("admin-all").waitFor();
    assert.equal(await page.getByRole("button", { name: "Delete admin-all" }).isDisabled(), false);
    assert.equal(await page.getByRole("button", { name: "Delete default" }).isDisabled(), true);
  });

  it("says a refused row action in its row, and a bucket name in use under the bucket's name", async () => {
    const stale = await c.admin.createToken({ organizationId: a.orgId, name: "stale", kind: TokenKind.INGESTION }, inst.operatorToken);
    await page.getByRole("button", { name: "Refresh" }).click();
    await row("stale").waitFor();
    await c.admin.deleteToken({ id: stale.token!.id }, inst.operatorToken);
    await page.getByRole("button", { name: "Disable stale" }).click();
    const error = page.locator(`#row-${stale.token!.id}-error`);
    await error.waitFor({ state: "visible" });
    assert.equal(await error.textContent(), "Token not found. It may have been deleted elsewhere: Refresh lists the tokens again.");
    assert.doesNotMatch((await error.textContent()) ?? "", /not_found/);
    assert.equal(await page.locator("#alert").isVisible(), false);
    assert.equal(await page.locator("#tokens-body tr.row-error").count(), 1, "a line of its own under the row");
    await screenshot(page, "tokens-11-row-refused", row("stale"));

    await page.locator("#cb-name").fill("telemetry");
    await page.getByRole("button", { name: "Create bucket" }).click();
    const bucketError = page.locator("#cb-name-error");
    await bucketError.waitFor({ state: "visible" });
    assert.equal(await bucketError.textContent(), 'A bucket named "telemetry" already exists in this organization.');
    assert.equal(await page.locator("#cb-name").getAttribute("aria-invalid"), "true");
  });

  it("saw no script error or CSP violation", () => {
    assert.deepEqual(unexpected(problems), []);
  });
});

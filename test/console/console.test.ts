/**
 * The admin console (src/console/ served by the HTTP port's fallback): the static files with
 * their content types and a strict CSP, no way out of the allow-list, and a real browser
 * (Debian's chromium driven by playwright-core) signing in, creating an ingestion token, reading
 * its value once and disabling it — checked against Verify over grpc-js — then filtering the token
 * list, editing expiries and the organization's policies, listing members and deleting buckets.
 */
import assert from "node:assert/strict";
import http from "node:http";
import http2 from "node:http2";
import { randomBytes } from "node:crypto";
import type { Browser, Dialog, Page } from "playwright-core";
import { ConnectError } from "@connectrpc/connect";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { EndpointClass, Role, Signal, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { grpcJsClients, type Clients } from "../helpers/clients.js";
import { addMember, createOrg, setupInstance, type Instance, type SeededOrg } from "../helpers/seed.js";
import { eventually } from "../helpers/wait.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { launchChromium, screenshot, unexpected, watchedPage } from "./browser.js";

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A GET with the path sent exactly as given (no URL normalization, unlike fetch). */
function rawGet(port: number, path: string, method = "GET"): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path, method, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

describe("admin console", () => {
  let server: TestServer;
  let port: number;

  before(async () => {
    server = await startTestServer();
    port = server.tessera.httpPort;
  });
  after(async () => {
    await server?.close();
  });

  describe("static files over HTTP", () => {
    for (const path of ["/", "/console/", "/console/index.html", "/?x=1"]) {
      it(`GET ${path} answers the page, uncached, with a strict CSP`, async () => {
        const r = await rawGet(port, path);
        assert.equal(r.status, 200);
        assert.match(String(r.headers["content-type"]), /^text\/html; charset=utf-8$/);
        assert.equal(r.headers["cache-control"], "no-store");
        const csp = String(r.headers["content-security-policy"]);
        assert.match(csp, /(^|;\s*)default-src 'self'(;|$)/);
        assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
        assert.equal(r.headers["x-content-type-options"], "nosniff");
        assert.match(r.body, /<title>Tessera admin console<\/title>/);
        assert.match(r.body, /<script type="module" src="\/console\/app\.js"><\/script>/);
        assert.doesNotMatch(r.body, /<script>|\sstyle=|\son[a-z]+=/i, "no inline script, style or handler: the CSP forbids them");
      });
    }

    it("serves the script and the stylesheet with their content types", async () => {
      const js = await rawGet(port, "/console/app.js");
      assert.equal(js.status, 200);
      assert.equal(js.headers["content-type"], "text/javascript; charset=utf-8");
      assert.match(String(js.headers["content-security-policy"]), /default-src 'self'/);
      assert.match(js.body, /TokenAdminService/);
      assert.doesNotMatch(js.body, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|localStorage/);
      const css = await rawGet(port, "/console/console.css");
      assert.equal(css.status, 200);
      assert.equal(css.headers["content-type"], "text/css; charset=utf-8");
    });

    it("answers HEAD with headers only", async () => {
      const r = await rawGet(port, "/console/app.js", "HEAD");
      assert.equal(r.status, 200);
      assert.equal(r.headers["content-type"], "text/javascript; charset=utf-8");
      assert.equal(r.body, "");
    });

    for (const path of [
      "/console/nope.js",
      "/console/APP.JS",
      "/console/app.js/",
      "/console/console.test.js",
      "/index.html",
      "/app.js",
      "/console/../package.json",
      "/console/../../package.json",
      "/console/%2e%2e/package.json",
      "/console/..%2fpackage.json",
      "/console/..%5c..%5cpackage.json",
      "/console//etc/passwd",
      "/console/%2fetc%2fpasswd",
      "/console/constructor",
      "/console/__proto__",
      "/console/hasOwnProperty",
    ]) {
      it(`GET ${path} answers 404`, async () => {
        const r = await rawGet(port, path);
        assert.equal(r.status, 404);
        assert.doesNotMatch(r.body, /"name"\s*:\s*"tessera"|root:/);
      });
    }

    it("serves the page over cleartext HTTP/2 too", async () => {
      const session = http2.connect(`http://127.0.0.1:${port}`);
      try {
        const { headers, body } = await new Promise<{ headers: http2.IncomingHttpHeaders; body: string }>((resolve, reject) => {
          const req = session.request({ ":path": "/console/console.css" });
          let h: http2.IncomingHttpHeaders = {};
          let b = "";
          req.setEncoding("utf8");
          req.on("response", (x) => (h = x));
          req.on("data", (d: string) => (b += d));
          req.on("end", () => resolve({ headers: h, body: b }));
          req.on("error", reject);
          req.end();
        });
        assert.equal(headers[":status"], 200);
        assert.equal(headers["content-type"], "text/css; charset=utf-8");
        assert.match(String(headers["content-security-policy"]), /default-src 'self'/);
        assert.match(body, /\[hidden\]/);
      } finally {
        session.close();
      }
    });

    it("still answers /healthz", async () => {
      const r = await rawGet(port, "/healthz");
      assert.equal(r.status, 200);
      assert.deepEqual(JSON.parse(r.body), { status: "SERVING" });
    });
  });

  describe("in a real browser", function () {
    this.timeout(120_000);
    let c: Clients;
    let inst: Instance;
    let org: SeededOrg;
    let browser: Browser;
    let page: Page;
    const problems: string[] = [];

    before(async () => {
      c = grpcJsClients(server.tessera.grpcPort);
      inst = await setupInstance(c);
      org = await createOrg(c, inst.operatorToken);
      browser = await launchChromium();
      // Any CSP violation or script error shows up in problems.
      page = await watchedPage(browser, problems);
    });
    after(async () => {
      await browser?.close();
      c?.close();
    });

    const verify = (credential: string) =>
      c.verify.verify(
        { credential, organization: org.identifier, endpoint: EndpointClass.INGEST, signal: Signal.LOGS },
        inst.verifierToken,
      );
    /** The names in the token table, in order. */
    const listedNames = () =>
      page.evaluate<string[]>(
        '[...document.querySelectorAll("#tokens-body tr[data-token-name]")].map((r) => r.getAttribute("data-token-name"))',
      );
    /** Waits until the token table lists exactly `names`. */
    const waitForNames = async (names: string[]) => {
      let seen: string[] = [];
      await eventually(
        async () => JSON.stringify((seen = await listedNames())) === JSON.stringify(names),
        15_000,
        `the table to list ${names.join(", ")}`,
      ).catch((e: unknown) => assert.fail(`${String(e)}; it lists ${seen.join(", ")}`));
    };
    /** Answers the next confirm() dialogs in turn (true: OK); returns what they asked. */
    const answerDialogs = (...answers: boolean[]) => {
      const asked: string[] = [];
      const on = (d: Dialog) => {
        asked.push(d.message());
        const yes = answers.shift();
        if (answers.length === 0) page.off("dialog", on);
        void (yes ? d.accept() : d.dismiss());
      };
      page.on("dialog", on);
      return asked;
    };
    /** The message the API answers for a request a client makes directly. */
    const refusal = (p: Promise<unknown>) =>
      p.then(
        () => assert.fail("the request must be refused"),
        (e: unknown) => ConnectError.from(e).rawMessage,
      );
    /** A server message as the console says it: a sentence. */
    const sentence = (m: string) => m[0]!.toUpperCase() + m.slice(1) + (/[.!?]$/.test(m) ? "" : ".");
    const tokenNamed = async (name: string) =>
      (await c.admin.listTokens({ organizationId: org.orgId, namePrefix: name, pageSize: 1000 }, org.adminToken)).tokens.find(
        (t) => t.name === name,
      );
    // Evaluated in the page (strings: this project compiles without the DOM lib).
    const pageHtml = () => page.evaluate<string>("document.documentElement.outerHTML + document.body.innerText");
    const storage = () =>
      page.evaluate<{ session: string; local: string }>(
        "({ session: JSON.stringify({ ...sessionStorage }), local: JSON.stringify({ ...localStorage }) })",
      );

    it("signs in, creates an ingestion token shown once, and disables it", async () => {
      await page.goto(`http://127.0.0.1:${port}/`);
      assert.equal(await page.getByRole("heading", { name: "Sign in" }).isVisible(), true);

      // Sign in with the org admin's token: the organization shows, the token is in sessionStorage only.
      await page.getByLabel("Token", { exact: true }).fill(org.adminToken);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.locator("#org-identifier", { hasText: org.identifier }).waitFor();
      assert.equal(await page.locator("#org-id").textContent(), org.orgId);
      await page.locator("#org-passcode", { hasText: "default ingestion token o2oi_" }).waitFor();
      assert.equal(await page.locator("#org-policies").textContent(), "maximum lifetime none; disabled after never unused");
      await page.locator('#tokens-body tr[data-token-name="default"]').waitFor();
      await page.locator("#whoami", { hasText: " as admin-all " }).waitFor();
      assert.equal(
        await page.locator("#whoami").textContent(),
        `Signed in to ${org.identifier} as admin-all (all access token, owned by ${org.identifier}-admin; role admin)`,
      );
      const s1 = await storage();
      assert.ok(s1.session.includes(org.adminToken), "the sign-in token is kept in sessionStorage");
      assert.equal(s1.local, "{}", "nothing in localStorage");
      assert.equal(await page.getByLabel("Token", { exact: true }).inputValue(), "", "the sign-in field is cleared");

      // Create an ingestion token for logs through the dialog.
      await page.getByRole("button", { name: "Create token" }).click();
      const dialog = page.getByRole("dialog", { name: "Create a token" });
      await dialog.getByLabel("Name", { exact: true }).fill("ui-ingest");
      await dialog.getByLabel("Ingestion", { exact: true }).check();
      await dialog.getByLabel("Description").fill("created in the browser");
      await dialog.getByLabel("Metrics").uncheck();
      await dialog.getByLabel("Traces").uncheck();
      await dialog.getByRole("button", { name: "Create token" }).click();
      await dialog.waitFor({ state: "hidden" });

      // The value is shown once, with a warning.
      const secret = page.locator("#secret");
      await secret.waitFor({ state: "visible" });
      assert.match((await secret.textContent()) ?? "", /shown only once/);
      const value = ((await page.locator("#secret-value").textContent()) ?? "").trim();
      assert.match(value, /^o2oi_[0-9A-Za-z]{20,}$/);

      // It works, and it is what the API lists under that name.
      const ok = await verify(value);
      assert.equal(ok.status, VerifyStatus.VALID, `wanted VALID, got ${VerifyStatus[ok.status]}`);
      const listed = (await c.admin.listTokens({ organizationId: org.orgId }, inst.operatorToken)).tokens.find(
        (t) => t.name === "ui-ingest",
      );
      assert.ok(listed, "the token is listed by the API");
      assert.equal(listed.kind, TokenKind.INGESTION);
      assert.equal(listed.description, "created in the browser");
      assert.deepEqual(listed.permissions?.signals, [Signal.LOGS]);

      // The list shows the masked value, never the value.
      const row = page.locator('#tokens-body tr[data-token-name="ui-ingest"]');
      await row.waitFor();
      const rowText = (await row.textContent()) ?? "";
      assert.ok(rowText.includes(listed.maskedValue), `the row shows ${listed.maskedValue}`);
      assert.ok(!rowText.includes(value), "the row never shows the value");
      assert.ok(rowText.includes("ingestion") && rowText.includes("created in the browser"));

      // Dismissed, the value is gone from the page and was never stored.
      await page.getByRole("button", { name: "Dismiss", exact: true }).click();
      await secret.waitFor({ state: "hidden" });
      assert.ok(!(await pageHtml()).includes(value), "the value is gone from the page after dismissal");
      const s2 = await storage();
      assert.ok(!s2.session.includes(value) && !s2.local.includes(value), "the value is never stored");
      assert.ok((await pageHtml()).includes(listed.maskedValue), "the masked value stays listed");

      // Disable it through the UI: Verify refuses it at once.
      await page.getByRole("button", { name: "Disable ui-ingest" }).click();
      await page.getByRole("button", { name: "Enable ui-ingest" }).waitFor();
      assert.equal(await row.locator("td.enabled").textContent(), "no (by an admin)");
      const off = await verify(value);
      assert.equal(off.status, VerifyStatus.DISABLED, `wanted DISABLED, got ${VerifyStatus[off.status]}`);
      assert.equal(off.allowed, false);
      assert.ok(!(await pageHtml()).includes(value));
      await screenshot(page, "tokens-after-disable");
    });

    it("says the server's refusal under the field, as a sentence without its code", async () => {
      // What the API answers for a duplicate name, straight from a client.
      const expected = await c.admin
        .createToken({ organizationId: org.orgId, name: "ui-ingest", kind: TokenKind.INGESTION }, org.adminToken)
        .then(
          () => assert.fail("a duplicate name must be refused"),
          (e: unknown) => ConnectError.from(e).rawMessage,
        );
      await page.getByRole("button", { name: "Create token" }).click();
      const dialog = page.getByRole("dialog", { name: "Create a token" });
      await dialog.getByLabel("Name", { exact: true }).fill("ui-ingest");
      await dialog.getByRole("button", { name: "Create token" }).click();
      const error = dialog.locator("#ct-name-error");
      await error.waitFor({ state: "visible" });
      assert.equal(await error.textContent(), sentence(expected));
      assert.equal(await page.locator("#secret").isVisible(), false, "no value box on failure");
      assert.equal(await page.locator("#alert").isVisible(), false);
      await dialog.getByRole("button", { name: "Cancel" }).click();
      await dialog.waitFor({ state: "hidden" });
    });

    it("edits a description and creates a bucket", async () => {
      const row = page.locator('#tokens-body tr[data-token-name="ui-ingest"]');
      await page.getByRole("button", { name: "Edit ui-ingest" }).click();
      await page.getByLabel("Description of ui-ingest").fill("edited <b>in</b> the browser");
      await row.getByRole("button", { name: "Save" }).click();
      await page
        .locator('#tokens-body tr[data-token-name="ui-ingest"] .description', { hasText: "edited <b>in</b> the browser" })
        .waitFor();
      const t = (await c.admin.listTokens({ organizationId: org.orgId }, inst.operatorToken)).tokens.find((x) => x.name === "ui-ingest");
      assert.equal(t?.description, "edited <b>in</b> the browser");
      assert.equal(await page.locator("#tokens-body b").count(), 0, "server text is never parsed as HTML");

      await page.locator("#cb-name").fill("ui-bucket");
      await page.locator("#cb-description").fill("from the console");
      await page.getByRole("button", { name: "Create bucket" }).click();
      await page.locator('#buckets-body tr[data-bucket-name="ui-bucket"]').waitFor();
      const buckets = await c.admin.listBuckets({ organizationId: org.orgId }, inst.operatorToken);
      assert.ok(buckets.buckets.some((b) => b.name === "ui-bucket" && b.description === "from the console"));
    });

    it("rotates with a grace period chosen in the list: the old value keeps working, and the row shows it until when", async () => {
      const created = await c.admin.createToken(
        { organizationId: org.orgId, name: "ui-overlap", kind: TokenKind.INGESTION },
        org.adminToken,
      );
      await page.reload();
      const row = page.locator('#tokens-body tr[data-token-name="ui-overlap"]');
      await row.waitFor();
      await page.getByLabel("When rotating a token, keep its old value working for").selectOption("86400s");
      let asked = "";
      page.once("dialog", (d) => {
        asked = d.message();
        void d.accept();
      });
      await page.getByRole("button", { name: "Rotate ui-overlap" }).click();
      await page.locator("#secret").waitFor({ state: "visible" });
      assert.match(asked, /keeps working for 1 day/);
      const fresh = ((await page.locator("#secret-value").textContent()) ?? "").trim();
      assert.match(fresh, /^o2oi_/);
      await page.getByRole("button", { name: "Dismiss", exact: true }).click();

      const old = await verify(created.value);
      assert.equal(old.status, VerifyStatus.VALID, "the old value during the grace period");
      assert.equal(old.newerValueExists, true);
      assert.equal((await verify(fresh)).status, VerifyStatus.VALID, "the new value");
      const t = (await c.admin.getToken({ id: created.token!.id }, org.adminToken)).token!;
      const p = t.previousValue;
      assert.ok(p?.expireTime, "the API shows the previous value");
      const left = Number(p.expireTime.seconds) * 1000 - Date.now();
      assert.ok(left > 23 * 3_600_000 && left <= 24 * 3_600_000, `a day of grace (${left} ms left)`);
      await page
        .locator('#tokens-body tr[data-token-name="ui-overlap"] .previous', { hasText: `previous ${p.maskedValue} until` })
        .waitFor();
      assert.ok(!(await pageHtml()).includes(created.value) && !(await pageHtml()).includes(fresh), "no value on the page");
      // Back to the default for the tests that follow: rotations stop the old value at once.
      await page.getByLabel("When rotating a token, keep its old value working for").selectOption("");
    });

    it("rotates (new value shown once) and deletes after confirmation", async () => {
      page.once("dialog", (d) => void d.accept());
      await page.getByRole("button", { name: "Rotate ui-ingest" }).click();
      await page.locator("#secret").waitFor({ state: "visible" });
      const rotated = ((await page.locator("#secret-value").textContent()) ?? "").trim();
      assert.match(rotated, /^o2oi_/);
      await page.getByRole("button", { name: "Dismiss", exact: true }).click();
      assert.ok(!(await pageHtml()).includes(rotated));

      page.once("dialog", (d) => void d.dismiss());
      await page.getByRole("button", { name: "Delete ui-ingest" }).click();
      await page.waitForTimeout(200);
      assert.equal(await page.locator('#tokens-body tr[data-token-name="ui-ingest"]').count(), 1, "declined: nothing deleted");

      page.once("dialog", (d) => void d.accept());
      await page.getByRole("button", { name: "Delete ui-ingest" }).click();
      await page.locator('#tokens-body tr[data-token-name="ui-ingest"]').waitFor({ state: "detached" });
      const off = await verify(rotated);
      assert.equal(off.allowed, false);
    });

    it("keeps the session across a reload and pages through tokens with More", async () => {
      const names = Array.from({ length: 55 }, (_, i) => `bulk-${String(i).padStart(2, "0")}`);
      for (const name of names) await c.admin.createToken({ organizationId: org.orgId, name, kind: TokenKind.INGESTION }, org.adminToken);
      const total = (await c.admin.listTokens({ organizationId: org.orgId, pageSize: 1000 }, org.adminToken)).tokens.length;
      assert.ok(total > 50);
      await page.reload();
      await page.locator("#org-identifier", { hasText: org.identifier }).waitFor();
      await page.locator("#tokens-body tr").nth(49).waitFor();
      assert.equal(await page.locator("#tokens-body tr").count(), 50);
      const more = page.getByRole("button", { name: "More" });
      assert.equal(await more.isVisible(), true);
      await more.click();
      await page
        .locator("#tokens-body tr")
        .nth(total - 1)
        .waitFor();
      assert.equal(await page.locator("#tokens-body tr").count(), total);
      await more.waitFor({ state: "hidden" });
      assert.equal(await page.locator('#tokens-body tr[data-token-name="default"]').count(), 1);
      assert.equal(await page.locator('#tokens-body tr[data-token-name="bulk-54"]').count(), 1);
    });

    it("searches and filters tokens by kind and state, showing 50 at a time", async () => {
      const bulk03 = await tokenNamed("bulk-03");
      assert.ok(bulk03);
      await c.admin.setTokenEnabled({ id: bulk03.id, enabled: false }, org.adminToken);
      await page.reload();
      await page.locator('#tokens-body tr[data-token-name="default"]').waitFor();
      const bulk = Array.from({ length: 55 }, (_, i) => `bulk-${String(i).padStart(2, "0")}`);
      const more = page.getByRole("button", { name: "More", exact: true });
      const search = page.getByLabel("Search name or description");

      // A search: the first 50 matches, then the rest with More.
      await search.fill("bulk-");
      await waitForNames(bulk.slice(0, 50));
      await more.click();
      await waitForNames(bulk);
      await more.waitFor({ state: "hidden" });

      // Another search after More: from the first rows again.
      await search.fill("bulk-5");
      await waitForNames(bulk.slice(50));
      assert.equal(await more.isVisible(), false);

      // Disabled only: the one disabled, saying why.
      await search.fill("");
      await page.getByLabel("Filter by state").selectOption("disabled");
      await waitForNames(["bulk-03"]);
      assert.equal(await page.locator('#tokens-body tr[data-token-name="bulk-03"] td.enabled').textContent(), "no (by an admin)");

      // A kind (enabled or disabled), then a kind with a search.
      await page.getByLabel("Filter by state").selectOption("");
      await page.getByLabel("Filter by kind").selectOption("TOKEN_KIND_ALL_ACCESS");
      await waitForNames(["admin-all"]);
      await page.getByLabel("Filter by kind").selectOption("TOKEN_KIND_INGESTION");
      await search.fill("ui-");
      await waitForNames(["ui-overlap"]);
      await page.getByLabel("Filter by state").selectOption("enabled");
      await waitForNames(["ui-overlap"]);

      // Filtered to nothing, a stale More never appears, and the table says so; cleared, everything is back.
      await page.getByLabel("Filter by kind").selectOption("TOKEN_KIND_SHARED");
      await waitForNames([]);
      assert.equal(await more.isVisible(), false);
      assert.equal(await page.locator("#tokens-empty").isVisible(), true);
      await page.getByLabel("Filter by kind").selectOption("");
      await page.getByLabel("Filter by state").selectOption("");
      await search.fill("");
      await page.locator("#tokens-body tr").nth(49).waitFor();
      assert.equal(await more.isVisible(), true);
    });

    it("shows where each value came from", async () => {
      const imported = randomBytes(20).toString("hex");
      await c.admin.createToken(
        { organizationId: org.orgId, name: "ui-imported", kind: TokenKind.INGESTION, value: imported },
        org.adminToken,
      );
      await page.getByLabel("Search name or description").fill("ui-");
      await waitForNames(["ui-overlap"]);
      // Made elsewhere: listed once the list is read again.
      await page.getByRole("button", { name: "Refresh" }).click();
      await waitForNames(["ui-overlap", "ui-imported"]);
      assert.equal(await page.locator('#tokens-body tr[data-token-name="ui-imported"] .origin').textContent(), "imported value");
      assert.equal(await page.locator('#tokens-body tr[data-token-name="ui-overlap"] .origin').textContent(), "generated value");
      assert.ok(!(await pageHtml()).includes(imported), "an imported value is never shown either");
    });

    it("sets and clears a token's expiry with Edit", async () => {
      const row = page.locator('#tokens-body tr[data-token-name="ui-overlap"]');
      const target = new Date(Date.now() + 2 * 86_400_000);
      target.setSeconds(0, 0);
      const local = (d: Date) =>
        `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}T${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
      // The test runs in the same time zone as the browser it starts.
      await page.getByRole("button", { name: "Edit ui-overlap" }).click();
      assert.equal(await page.getByLabel("Expiry of ui-overlap").inputValue(), "", "no expiry yet");
      await page.getByLabel("Expiry of ui-overlap").fill(local(target));
      await row.getByRole("button", { name: "Save" }).click();
      await row.locator("td.expiry", { hasText: String(target.getFullYear()) }).waitFor();
      let t = await tokenNamed("ui-overlap");
      assert.ok(t?.expireTime, "the API shows the expiry");
      assert.equal(timestampDate(t.expireTime).getTime(), target.getTime());
      assert.equal(t.description, "", "the description is left as it was");

      // Emptied, the expiry is cleared.
      await page.getByRole("button", { name: "Edit ui-overlap" }).click();
      assert.equal(await page.getByLabel("Expiry of ui-overlap").inputValue(), local(target));
      await page.getByLabel("Expiry of ui-overlap").fill("");
      await page.getByLabel("Description of ui-overlap").fill("no end");
      await row.getByRole("button", { name: "Save" }).click();
      await row.locator("td.expiry", { hasText: "never" }).waitFor();
      t = await tokenNamed("ui-overlap");
      assert.equal(t?.expireTime, undefined);
      assert.equal(t?.description, "no end");
    });

    it("edits the organization's name and token policies, saying the server's refusals under the field", async () => {
      await page.getByLabel("Organization name").fill("Renamed in the browser");
      await page.getByLabel("Maximum token lifetime").fill("30d");
      await page.getByLabel("Disable tokens unused for").fill("90d");
      await page.getByRole("button", { name: "Save organization" }).click();
      await page.locator("#org-policies", { hasText: "maximum lifetime 30d; disabled after 90d unused" }).waitFor();
      assert.equal(await page.locator("#org-name").textContent(), "Renamed in the browser");
      const o = (await c.admin.getOrganization({ id: org.orgId }, org.adminToken)).organization!;
      assert.equal(o.name, "Renamed in the browser");
      assert.equal(o.maxTokenLifetime?.seconds, 2_592_000n);
      assert.equal(o.tokenIdleLimit?.seconds, 7_776_000n);

      // An expiry beyond the lifetime: the server's message, as a client gets it.
      const t = (await tokenNamed("ui-overlap"))!;
      const far = new Date(Date.now() + 60 * 86_400_000);
      const expected = await refusal(
        c.admin.updateToken({ id: t.id, updateMask: { paths: ["expire_time"] }, expireTime: timestampFromDate(far) }, org.adminToken),
      );
      await page.getByRole("button", { name: "Edit ui-overlap" }).click();
      await page
        .getByLabel("Expiry of ui-overlap")
        .fill(`${far.getFullYear()}-${String(far.getMonth() + 1).padStart(2, "0")}-${String(far.getDate()).padStart(2, "0")}T12:00`);
      const overlap = page.locator('#tokens-body tr[data-token-name="ui-overlap"]');
      await overlap.getByRole("button", { name: "Save" }).click();
      // Under the expiry, in plain words: the field's API name said as a person says it.
      const expiryError = overlap.locator(`#edit-${t.id}-exp-error`);
      await expiryError.waitFor({ state: "visible" });
      assert.match(expected, /^expire_time is beyond this organization's maximum token lifetime \(30d\)$/);
      assert.equal(await expiryError.textContent(), "The expiry is beyond this organization's maximum token lifetime (30d).");
      assert.equal(await page.getByLabel("Expiry of ui-overlap").getAttribute("aria-invalid"), "true");
      await screenshot(page, "tokens-edit-expiry-refused", overlap);
      await overlap.getByRole("button", { name: "Cancel" }).click();
      assert.equal((await tokenNamed("ui-overlap"))?.expireTime, undefined, "nothing changed");

      // An idle limit the server refuses.
      const tooShort = await refusal(
        c.admin.updateOrganization(
          { organization: { id: org.orgId, tokenIdleLimit: { seconds: 30n } }, updateMask: { paths: ["token_idle_limit"] } },
          org.adminToken,
        ),
      );
      await page.getByLabel("Disable tokens unused for").fill("30s");
      await page.getByRole("button", { name: "Save organization" }).click();
      const idleError = page.locator("#eo-idle-error");
      await idleError.waitFor({ state: "visible" });
      assert.match(tooShort, /^organization\.token_idle_limit /);
      assert.equal(await idleError.textContent(), sentence(tooShort.replace("organization.token_idle_limit", "the idle limit")));
      assert.equal(await page.locator("#alert").isVisible(), false);

      // Text that is no duration is refused before any request.
      await page.getByLabel("Disable tokens unused for").fill("soon");
      await page.getByRole("button", { name: "Save organization" }).click();
      await eventually(
        async () => /^Write a duration such as 90d/.test((await idleError.textContent()) ?? ""),
        5000,
        "the idle limit's error",
      );
      await screenshot(page, "org-idle-limit-refused", page.locator("#edit-org"));

      // Emptied, both limits are removed.
      await page.getByLabel("Maximum token lifetime").fill("");
      await page.getByLabel("Disable tokens unused for").fill("");
      await page.getByRole("button", { name: "Save organization" }).click();
      await page.locator("#org-policies", { hasText: "maximum lifetime none; disabled after never unused" }).waitFor();
      const after = (await c.admin.getOrganization({ id: org.orgId }, org.adminToken)).organization!;
      assert.equal(after.maxTokenLifetime, undefined);
      assert.equal(after.tokenIdleLimit, undefined);
      assert.equal(after.name, "Renamed in the browser");
    });

    it("lists the organization's members with their roles", async () => {
      const viewerId = await addMember(c, inst.operatorToken, org.orgId, Role.VIEWER, `${org.identifier}-viewer`);
      await page.reload();
      const viewer = page.locator(`#members-body tr[data-user-name="${org.identifier}-viewer"]`);
      await viewer.waitFor();
      assert.deepEqual(await viewer.locator("td").allTextContents(), [`${org.identifier}-viewer`, viewerId, "viewer"]);
      const admin = page.locator(`#members-body tr[data-user-name="${org.identifier}-admin"]`);
      assert.deepEqual(await admin.locator("td").allTextContents(), [`${org.identifier}-admin`, org.adminUserId, "admin"]);
      assert.equal(await page.locator("#members-body tr").count(), 2, "only this organization's members");
    });

    it("deletes a bucket, and one that tokens name only with force after a second confirmation", async () => {
      await c.admin.createBucket({ organizationId: org.orgId, name: "ui-gone" }, org.adminToken);
      await c.admin.createBucket({ organizationId: org.orgId, name: "ui-held" }, org.adminToken);
      const narrow = await c.admin.createToken(
        {
          organizationId: org.orgId,
          name: "ui-held-narrow",
          kind: TokenKind.INGESTION,
          permissions: { buckets: ["ui-held", "ui-bucket"] },
        },
        org.adminToken,
      );
      const only = await c.admin.createToken(
        { organizationId: org.orgId, name: "ui-held-only", kind: TokenKind.INGESTION, permissions: { buckets: ["ui-held"] } },
        org.adminToken,
      );
      await page.reload();
      await page.locator('#buckets-body tr[data-bucket-name="ui-held"]').waitFor();

      // Declined: nothing happens. Accepted: gone.
      answerDialogs(false);
      await page.getByRole("button", { name: "Delete bucket ui-gone" }).click();
      await page.waitForTimeout(200);
      assert.equal(await page.locator('#buckets-body tr[data-bucket-name="ui-gone"]').count(), 1);
      answerDialogs(true);
      await page.getByRole("button", { name: "Delete bucket ui-gone" }).click();
      await page.locator('#buckets-body tr[data-bucket-name="ui-gone"]').waitFor({ state: "detached" });
      assert.equal(await page.locator("#buckets-status").textContent(), "Bucket ui-gone deleted.");

      // Named by tokens: the server refuses; declining force shows its message and keeps everything.
      const expected = await refusal(c.admin.deleteBucket({ organizationId: org.orgId, name: "ui-held" }, org.adminToken));
      let asked = answerDialogs(true, false);
      await page.getByRole("button", { name: "Delete bucket ui-held" }).click();
      await page.locator("#buckets-status.field-error").waitFor();
      assert.equal(await page.locator("#buckets-status").textContent(), `Bucket ui-held was not deleted: ${sentence(expected)}`);
      assert.equal(asked.length, 2);
      assert.ok(asked[1]!.includes(sentence(expected)), "the second question quotes the server");
      assert.match(asked[1]!, /loses it, and a token left with no bucket is deleted/);
      assert.equal(await page.locator('#buckets-body tr[data-bucket-name="ui-held"]').count(), 1);
      assert.ok(await tokenNamed("ui-held-only"));

      // Accepted: forced; one token narrowed, the other deleted.
      asked = answerDialogs(true, true);
      await page.getByRole("button", { name: "Delete bucket ui-held" }).click();
      await page.locator('#buckets-body tr[data-bucket-name="ui-held"]').waitFor({ state: "detached" });
      assert.equal(
        await page.locator("#buckets-status").textContent(),
        "Bucket ui-held deleted; 1 token(s) no longer name it, 1 token(s) deleted.",
      );
      assert.deepEqual((await c.admin.getToken({ id: narrow.token!.id }, org.adminToken)).token?.permissions?.buckets, ["ui-bucket"]);
      assert.equal(await tokenNamed("ui-held-only"), undefined);
      assert.equal(only.token?.name, "ui-held-only");
      const buckets = (await c.admin.listBuckets({ organizationId: org.orgId }, org.adminToken)).buckets.map((b) => b.name);
      assert.ok(!buckets.includes("ui-held") && !buckets.includes("ui-gone") && buckets.includes("ui-bucket"));
    });

    it("signs out, forgetting the token", async () => {
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
      const s = await storage();
      assert.equal(s.session, "{}");
      assert.equal(await page.locator("#app").isVisible(), false);
      assert.equal(await page.locator("#tokens-body tr").count(), 0);

      // A refused token answers with the server's message and leaves nothing stored.
      await page.getByLabel("Token", { exact: true }).fill("o2oi_notarealtoken");
      await page.getByRole("button", { name: "Sign in" }).click();
      // Under the token field, in plain words.
      const error = page.locator("#signin-token-error");
      await error.waitFor({ state: "visible" });
      assert.match((await error.textContent()) ?? "", /^This token was not accepted: [A-Z].*\.$/);
      await screenshot(page, "signin-refused");
      assert.equal((await storage()).session, "{}");
    });

    it("saw no script error or CSP violation", () => {
      assert.deepEqual(unexpected(problems), []);
    });
  });
});

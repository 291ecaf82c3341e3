/**
 * The console's Ingestion tab in a real browser against a real server: it lists the
 * organization's enabled ingestion tokens, and its snippets (curl, OpenTelemetry Collector,
 * Prometheus remote_write) name this page's origin and a placeholder, never a token value, unless
 * the value was created or rotated in this tab and the admin asks for it. The curl snippets are
 * checked against Tessera's own edge: /forward-auth, asked as a gateway asks it, allows exactly
 * the requests they make.
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { Browser, Page } from "playwright-core";
import { Signal, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { grpcJsClients, type Clients } from "../helpers/clients.js";
import { createOrg, setupInstance, type Instance, type SeededOrg } from "../helpers/seed.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { launchChromium, screenshot, signIn, unexpected, watchedPage } from "./browser.js";

/** Asks /forward-auth about a POST to `uri` carrying `credential` (an Authorization value), as nginx's auth_request does. */
function forwardAuth(port: number, verifier: string, uri: string, credential: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        path: "/forward-auth",
        method: "GET",
        agent: false,
        headers: { "x-tessera-verifier": verifier, "x-original-method": "POST", "x-original-uri": uri, authorization: credential },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** The URLs a curl snippet posts to. */
const curlUrls = (snippet: string) => [...snippet.matchAll(/curl -sS -X POST '([^']+)'/g)].map((m) => m[1]!);

describe("admin console: the Ingestion tab", function () {
  this.timeout(120_000);
  let server: TestServer;
  let port: number;
  let origin: string;
  let c: Clients;
  let inst: Instance;
  let org: SeededOrg;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const values: Record<string, string> = {};

  before(async () => {
    server = await startTestServer();
    port = server.tessera.httpPort;
    origin = `http://127.0.0.1:${port}`;
    c = grpcJsClients(server.tessera.grpcPort);
    inst = await setupInstance(c);
    org = await createOrg(c, inst.operatorToken);
    for (const name of ["telemetry", "web"]) await c.admin.createBucket({ organizationId: org.orgId, name }, org.adminToken);
    const make = async (name: string, extra: Record<string, unknown> = {}) => {
      const r = await c.admin.createToken({ organizationId: org.orgId, name, kind: TokenKind.INGESTION, ...extra }, org.adminToken);
      values[name] = r.value;
      return r.token!.id;
    };
    await make("edge-all");
    await make("edge-web", { permissions: { signals: [Signal.LOGS], buckets: ["web"] } });
    const off = await make("edge-off");
    await c.admin.setTokenEnabled({ id: off, enabled: false }, org.adminToken);
    await c.admin.createToken(
      {
        organizationId: org.orgId,
        name: "not-ingestion",
        kind: TokenKind.READ_WRITE,
        permissions: { bucketAccess: [{ bucket: "web", read: true }] },
      },
      org.adminToken,
    );
    browser = await launchChromium();
    page = await watchedPage(browser, problems);
    await signIn(page, port, org.adminToken, org.identifier);
  });
  after(async () => {
    await browser?.close();
    c?.close();
    await server?.close();
  });

  const snippet = async (key: "curl" | "otel" | "prometheus") => (await page.locator(`#snippet-${key}`).textContent()) ?? "";
  const pageText = () => page.evaluate<string>("document.documentElement.outerHTML + document.body.innerText");
  const pick = async (name: string) => {
    const select = page.getByLabel("Ingestion token", { exact: true });
    await select.locator("option").first().waitFor({ state: "attached" });
    const options = await select
      .locator("option")
      .evaluateAll((os) => os.map((o) => ({ value: (o as unknown as { value: string }).value, text: o.textContent ?? "" })));
    const option = options.find((o) => o.text.startsWith(`${name} — `));
    assert.ok(option, `${name} is offered`);
    await select.selectOption(option.value);
    await page.locator("#ingest-grants", { hasText: `${name} (` }).waitFor();
  };

  it("offers the organization's enabled ingestion tokens, with snippets for this origin and a placeholder", async () => {
    await page.getByRole("tab", { name: "Ingestion" }).click();
    const select = page.getByLabel("Ingestion token", { exact: true });
    await select.locator("option").first().waitFor({ state: "attached" });
    const names = (await select.locator("option").allTextContents()).map((o) => o.split(" — ")[0]);
    assert.deepEqual(names, ["default", "edge-all", "edge-web"], "enabled ingestion tokens only");
    assert.equal(await page.getByLabel("Ingestion address (your edge)").inputValue(), origin);
    await pick("edge-all");

    const curl = await snippet("curl");
    assert.deepEqual(curlUrls(curl), [
      `${origin}/v1/logs`,
      `${origin}/api/v2/write?org=${org.identifier}&bucket=telemetry&precision=s`,
      `${origin}/v1/traces`,
    ]);
    assert.ok(curl.includes('-H "Authorization: Bearer $TESSERA_TOKEN"'));
    const otel = await snippet("otel");
    assert.ok(otel.includes(`endpoint: "${origin}"`));
    assert.ok(otel.includes(`Authorization: "Bearer \${env:TESSERA_TOKEN}"`), "the Collector reads the value from the environment");
    for (const p of ["logs", "metrics", "traces"]) assert.ok(otel.includes(`    ${p}:\n      receivers: [otlp]`), `a ${p} pipeline`);
    const prom = await snippet("prometheus");
    assert.ok(prom.includes(`url: "${origin}/api/v1/write"`));
    assert.ok(prom.includes("credentials_file: /etc/prometheus/tessera-token"));
    assert.match((await page.locator("#ingest-value").textContent()) ?? "", /shown only once and never stored/);
    assert.equal(await page.locator("#ingest-fill").count(), 0, "no value to fill in: it was not made in this tab");
    const html = await pageText();
    for (const [name, v] of Object.entries(values)) assert.ok(!html.includes(v), `no value of ${name} on the page`);
    await screenshot(page, "ingestion-1-placeholder");
  });

  it("writes snippets the edge accepts: Bearer and Basic, and the route naming a bucket for a token limited to one", async () => {
    const verifier = inst.verifierToken;
    for (const url of curlUrls(await snippet("curl"))) {
      const path = url.slice(origin.length);
      assert.equal(await forwardAuth(port, verifier, path, `Bearer ${values["edge-all"]}`), 200, `allowed: POST ${path}`);
    }
    await page.getByLabel("Basic (organization:token)").check();
    const basic = await snippet("curl");
    assert.ok(basic.includes(`-u "${org.identifier}:$TESSERA_TOKEN"`));
    const credential = `Basic ${Buffer.from(`${org.identifier}:${values["edge-all"]}`).toString("base64")}`;
    for (const url of curlUrls(basic)) assert.equal(await forwardAuth(port, verifier, url.slice(origin.length), credential), 200);
    const otel = await snippet("otel");
    assert.ok(
      otel.includes(`basicauth/tessera:\n    client_auth:\n      username: "${org.identifier}"\n      password: "\${env:TESSERA_TOKEN}"`),
    );
    assert.ok((await snippet("prometheus")).includes(`basic_auth:\n      username: "${org.identifier}"\n      password_file:`));
    await page.getByLabel("Authorization: Bearer").check();

    // Limited to logs in bucket web: one curl, on the route that names the bucket; no remote_write.
    await pick("edge-web");
    const urls = curlUrls(await snippet("curl"));
    assert.deepEqual(urls, [`${origin}/api/${org.identifier}/web/_json`]);
    assert.equal(await forwardAuth(port, verifier, urls[0]!.slice(origin.length), `Bearer ${values["edge-web"]}`), 200);
    // Why not OTLP: that route names no bucket, and the token needs one.
    assert.equal(await forwardAuth(port, verifier, "/v1/logs", `Bearer ${values["edge-web"]}`), 403);
    assert.match((await page.locator("#ingest-route").textContent()) ?? "", /OTLP and remote_write requests name no bucket/);
    await pick("edge-all");
    assert.equal(await page.locator("#ingest-route").isVisible(), false, "a token for every bucket needs no such route");
    await pick("edge-web");
    assert.equal(await page.locator("#snippet-prometheus").count(), 0);
    assert.match((await page.locator("#snippet-prometheus-title + p").textContent()) ?? "", /may not write metrics/);
    const otel2 = await snippet("otel");
    assert.ok(otel2.includes("    logs:") && !otel2.includes("    metrics:") && !otel2.includes("    traces:"), "only the logs pipeline");
    await screenshot(page, "ingestion-2-bucket-limited");

    // Another address for the edge: the snippets follow it.
    await page.getByLabel("Ingestion address (your edge)").fill("https://ingest.example.com/");
    assert.deepEqual(curlUrls(await snippet("curl")), [`https://ingest.example.com/api/${org.identifier}/web/_json`]);
    await page.getByLabel("Ingestion address (your edge)").fill(origin);
  });

  it("offers to fill in the value of a token created in this tab, and of no other", async () => {
    await page.getByRole("tab", { name: "Organization and tokens" }).click();
    await page.locator("#new-token").click();
    const dialog = page.getByRole("dialog", { name: "Create a token" });
    await dialog.getByLabel("Name", { exact: true }).fill("edge-new");
    await dialog.getByRole("button", { name: "Create token" }).click();
    await page.locator("#secret").waitFor({ state: "visible" });
    const value = ((await page.locator("#secret-value").textContent()) ?? "").trim();
    assert.match(value, /^o2oi_/);
    await page.getByRole("button", { name: "Ingestion snippets for this token" }).click();
    assert.equal(await page.getByRole("tab", { name: "Ingestion" }).getAttribute("aria-selected"), "true");
    await page.locator("#ingest-grants", { hasText: "edge-new (" }).waitFor();
    await page.getByRole("button", { name: "Dismiss", exact: true }).click();

    // Offered, not filled in until asked.
    assert.ok(!(await snippet("curl")).includes(value));
    assert.ok(!(await pageText()).includes(value), "the value is not on the page until asked for");
    await page.getByRole("button", { name: "Fill in the value" }).click();
    const curl = await snippet("curl");
    assert.ok(curl.includes(`-H 'Authorization: Bearer ${value}'`));
    assert.ok(!curl.includes("$TESSERA_TOKEN"));
    assert.ok((await snippet("otel")).includes(`Authorization: "Bearer ${value}"`));
    assert.ok((await snippet("prometheus")).includes(`credentials: "${value}"`));
    assert.equal(await forwardAuth(port, inst.verifierToken, curlUrls(curl)[0]!.slice(origin.length), `Bearer ${value}`), 200);
    await screenshot(page, "ingestion-3-value-filled");
    await page.getByRole("button", { name: "Use the placeholder again" }).click();
    assert.ok(!(await snippet("curl")).includes(value));

    // Another token: no offer, no value.
    await pick("edge-all");
    assert.equal(await page.locator("#ingest-fill").count(), 0);
    assert.ok(!(await pageText()).includes(value));

    // Forgotten, the value is offered no more; nothing was ever stored.
    await pick("edge-new");
    await page.getByRole("button", { name: "Forget the value" }).click();
    await page.locator("#ingest-value", { hasText: "shown only once" }).waitFor();
    assert.equal(await page.locator("#ingest-fill").count(), 0);
    const stored = await page.evaluate<string>("JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage })");
    assert.ok(!stored.includes(value), "never stored");
  });

  it("offers a value rotated in this tab", async () => {
    await page.getByRole("tab", { name: "Organization and tokens" }).click();
    page.once("dialog", (d) => void d.accept());
    await page.getByRole("button", { name: "Rotate edge-all" }).click();
    await page.locator("#secret").waitFor({ state: "visible" });
    const value = ((await page.locator("#secret-value").textContent()) ?? "").trim();
    await page.getByRole("button", { name: "Dismiss", exact: true }).click();
    await page.getByRole("tab", { name: "Ingestion" }).click();
    await pick("edge-all");
    await page.getByRole("button", { name: "Fill in the value" }).click();
    assert.ok((await snippet("curl")).includes(value));
    // A reload forgets it: values live in this page's memory only.
    await page.reload();
    await page.locator("#org-identifier", { hasText: org.identifier }).waitFor();
    await page.getByRole("tab", { name: "Ingestion" }).click();
    await pick("edge-all");
    assert.equal(await page.locator("#ingest-fill").count(), 0);
    assert.ok(!(await pageText()).includes(value));
  });

  it("says so when the organization has no enabled ingestion token", async () => {
    const all = (await c.admin.listTokens({ organizationId: org.orgId, kind: TokenKind.INGESTION, enabled: true }, org.adminToken)).tokens;
    for (const t of all) await c.admin.setTokenEnabled({ id: t.id, enabled: false }, org.adminToken);
    await page.getByRole("tab", { name: "Organization and tokens" }).click();
    await page.getByRole("tab", { name: "Ingestion" }).click();
    const none = page.locator("#ingest-none");
    await none.waitFor({ state: "visible" });
    assert.equal(await none.textContent(), `${org.identifier} has no enabled ingestion token: create one under Tokens.`);
    assert.equal(await page.locator("#ingest-form").isVisible(), false);
    assert.equal(await page.locator("#ingest-snippets section").count(), 0, "no snippets without a token");
    await screenshot(page, "ingestion-4-no-token");
  });

  it("saw no script error or CSP violation", () => {
    assert.deepEqual(unexpected(problems), []);
  });
});

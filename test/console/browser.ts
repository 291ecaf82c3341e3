/**
 * What the console's browser tests share: Debian's chromium driven by playwright-core, a record of
 * every script error or CSP violation a page reports, signing in through the form, and full-page
 * screenshots written to .test-output/console/ (kept out of git) for a person to look at.
 */
import { access, mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from "playwright-core";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Starts chromium; ensure-chromium.sh (npm pretest) installs it, so a missing one fails, never skips. */
export async function launchChromium(): Promise<Browser> {
  await access(CHROMIUM).catch(() => {
    throw new Error(`${CHROMIUM} is missing: run 'bash test/tools/ensure-chromium.sh' (as root) first`);
  });
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

/** A new page (of the browser, or of one of its contexts) whose script errors and CSP violations are collected in `problems`. */
export async function watchedPage(browser: Browser | BrowserContext, problems: string[]): Promise<Page> {
  const page = await browser.newPage();
  page.setDefaultTimeout(15_000);
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  return page;
}

/** The problems other than the browser's own line for an API answer with a 4xx status (refusals the tests provoke). */
export const unexpected = (problems: string[]): string[] => problems.filter((p) => !/the server responded with a status of 4\d\d/.test(p));

/** Opens the console on `port` and signs in with `token`, waiting until the organization shows. */
export async function signIn(page: Page, port: number, token: string, identifier: string): Promise<void> {
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.getByLabel("Token", { exact: true }).fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator("#org-identifier", { hasText: identifier }).waitFor();
}

/** dist/test/console/ → the package root's .test-output/console/ (tests also run from sources' layout). */
const SHOTS = (() => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const root = here.includes(`${path.sep}dist${path.sep}`) ? path.resolve(here, "../../..") : path.resolve(here, "../..");
  return path.join(root, ".test-output", "console");
})();

/**
 * A screenshot named `name`.png in .test-output/console/: the whole page, or (`at`) the window
 * scrolled to show that element, for pages too tall to look at whole. Returns its path.
 */
export async function screenshot(page: Page, name: string, at?: Locator): Promise<string> {
  await mkdir(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `${name}.png`);
  if (at !== undefined) await at.scrollIntoViewIfNeeded();
  await page.screenshot({ path: file, fullPage: at === undefined });
  return file;
}

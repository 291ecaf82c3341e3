/**
 * The admin console's static files (src/console/): a fixed allow-list of names, never a path
 * taken from the request, so nothing outside the folder can be reached. Files are read once and
 * kept in memory; every answer carries a strict content-security-policy.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";

/** The console folder lives in the source tree; dist/ code finds it relative to the package root. */
function consoleDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // here = <root>/dist/src/transport  or  <root>/src/transport
  const root = here.includes(`${path.sep}dist${path.sep}`) ? path.resolve(here, "../../..") : path.resolve(here, "../..");
  return path.join(root, "src", "console");
}

/** Every file the console serves, with its content type. Nothing else is ever read. */
const FILES: Readonly<Record<string, string>> = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "console.css": "text/css; charset=utf-8",
};

const CONSOLE_CSP = "default-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'; form-action 'self'";

export interface ConsoleAsset {
  body: Buffer;
  headers: Record<string, string>;
}

/** The file name a request path maps to, or undefined: `/`, `/console`, `/console/` and `/console/<allowed>`. */
function consoleFileFor(pathname: string): string | undefined {
  if (pathname === "/" || pathname === "/console" || pathname === "/console/") return "index.html";
  if (!pathname.startsWith("/console/")) return undefined;
  const name = pathname.slice("/console/".length);
  return Object.hasOwn(FILES, name) ? name : undefined;
}

export function createConsoleAssets(dir = consoleDir()): { get(pathname: string): Promise<ConsoleAsset | undefined> } {
  const cache = new Map<string, Promise<Buffer>>();
  return {
    async get(pathname) {
      const name = consoleFileFor(pathname);
      if (name === undefined) return undefined;
      let body = cache.get(name);
      if (body === undefined) {
        body = readFile(path.join(dir, name));
        cache.set(name, body);
        body.catch(() => cache.delete(name));
      }
      return {
        body: await body,
        headers: {
          "content-type": FILES[name]!,
          "cache-control": name === "index.html" ? "no-store" : "no-cache",
          "content-security-policy": CONSOLE_CSP,
          "x-content-type-options": "nosniff",
          "referrer-policy": "no-referrer",
          "x-frame-options": "DENY",
        },
      };
    },
  };
}

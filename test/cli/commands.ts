/**
 * Every `tessera` command, found the way a user finds them: `tessera --help` lists the top-level
 * commands, a group's `--help` its commands. Tests built on this cover a command added later
 * without being told about it.
 */
import assert from "node:assert/strict";
import { runCli } from "./run-cli.js";

/** The groups whose commands call the admin API and print a result. */
export const API_GROUPS = new Set(["auth", "org", "user", "bucket", "audit", "whoami", "apply", "import"]);

/** Names listed under "Commands:" in a usage text. */
function commandNames(usage: string): string[] {
  const section = usage.slice(usage.indexOf("Commands:\n") + "Commands:\n".length);
  const names: string[] = [];
  for (const line of section.split("\n")) {
    const m = /^ {2}([a-z][a-z0-9-]*)\s{2,}\S/.exec(line);
    if (m === null) break;
    names.push(m[1]!);
  }
  return names;
}

/** Each command's path ("auth list", "whoami") and its `--help` output, which exited 0. */
export async function allCommands(): Promise<Map<string, string>> {
  const usages = new Map<string, string>();
  const help = async (args: string[]): Promise<string> => {
    const r = await runCli([...args, "--help"]);
    assert.equal(r.code, 0, `tessera ${args.join(" ")} --help: ${r.stderr}`);
    return r.stdout;
  };
  const names = commandNames(await help([]));
  assert.ok(names.includes("auth") && names.includes("whoami"), `commands found: ${names.join(", ")}`);
  for (const name of names) {
    const usage = await help([name]);
    if (!usage.startsWith(`Usage: tessera ${name} <command>`)) {
      usages.set(name, usage);
      continue;
    }
    const subs = commandNames(usage);
    assert.ok(subs.length > 0, `tessera ${name} --help lists no commands:\n${usage}`);
    for (const sub of subs) usages.set(`${name} ${sub}`, await help([name, sub]));
  }
  return usages;
}

/** The API commands that take --json. */
export function jsonCommands(usages: Map<string, string>): string[] {
  return [...usages].filter(([p, u]) => API_GROUPS.has(p.split(" ")[0]!) && /^ {2}--json\b/m.test(u)).map(([p]) => p);
}

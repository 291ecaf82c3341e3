/** The `tessera` command as a child process, with text piped to its standard input. */
import { execFile } from "node:child_process";
import { CLI, cleanEnv, type CliResult } from "./run-cli.js";

export function runCliWithInput(args: string[], input: string, env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI, ...args], { env: cleanEnv(env), timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : -1, stdout, stderr });
    });
    child.stdin!.end(input);
  });
}

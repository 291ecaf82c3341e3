/** Starts Tessera instances as separate processes over one test database. */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { TestDatabase } from "./db.js";

export interface InstanceProcess {
  grpcPort: number;
  httpPort: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

const MAIN = fileURLToPath(new URL("./instance-main.js", import.meta.url));

export async function startInstanceProcess(
  db: TestDatabase,
  digestKeysJson: string,
  env: Record<string, string> = {},
): Promise<InstanceProcess> {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH ?? "",
      DATABASE_URL: db.appUrl,
      TESSERA_OWNER_DATABASE_URL: db.ownerUrl,
      TESSERA_DIGEST_KEYS: digestKeysJson,
      TESSERA_POOL_SIZE: "4",
      ...env,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once("line", (l) => resolve(l));
    child.once("exit", (code) => reject(new Error(`instance exited early with code ${code}`)));
  });
  const { grpcPort, httpPort } = JSON.parse(line) as { grpcPort: number; httpPort: number };
  return {
    grpcPort,
    httpPort,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 5000).unref();
      }),
  };
}

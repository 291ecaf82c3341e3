/**
 * Asks for missing values at a terminal. Prompts go to stderr so stdout keeps only results;
 * without a terminal the caller fails instead, since a script waiting on a prompt would hang.
 * Lines are read through one iterator, so answers typed (or pasted) ahead are not lost, and
 * Ctrl-C or Ctrl-D cancels cleanly.
 */
import { createInterface } from "node:readline";
import { CliError } from "./command.js";

export async function ask(questions: Array<{ label: string; key: string }>): Promise<Record<string, string>> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  rl.on("SIGINT", () => rl.close());
  const lines = rl[Symbol.asyncIterator]();
  const answers: Record<string, string> = {};
  try {
    for (const q of questions) {
      let answer = "";
      while (answer === "") {
        rl.setPrompt(`${q.label}: `);
        rl.prompt();
        const next = await lines.next();
        if (next.done === true) throw new CliError("cancelled");
        answer = String(next.value).trim();
      }
      answers[q.key] = answer;
    }
  } finally {
    rl.close();
  }
  return answers;
}

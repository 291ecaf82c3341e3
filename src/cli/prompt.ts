/**
 * Asks for missing values at a terminal. Prompts go to stderr so stdout keeps only results;
 * without a terminal the caller fails instead, since a script waiting on a prompt would hang.
 */
import { createInterface } from "node:readline/promises";

export async function ask(questions: Array<{ label: string; key: string }>): Promise<Record<string, string>> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answers: Record<string, string> = {};
  try {
    for (const q of questions) {
      let answer = "";
      while (answer === "") answer = (await rl.question(`${q.label}: `)).trim();
      answers[q.key] = answer;
    }
  } finally {
    rl.close();
  }
  return answers;
}

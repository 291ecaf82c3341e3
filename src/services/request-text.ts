/**
 * The edge check of every admin request: each string anywhere in the message (nested messages,
 * lists, map keys and values, oneof members) meets the text floor of domain/text.ts, or the call
 * is INVALID_ARGUMENT naming the field. Handlers then apply their field rules; this guarantees
 * that no field a handler forgets to check can carry a NUL into SQL.
 *
 * Verify checks its own few fields on its hot path instead (verify-service.ts, token-lookup.ts).
 */
import { invalidArgument } from "../domain/errors.js";
import { textProblem } from "../domain/text.js";

const MAX_DEPTH = 32;

export function checkRequestText(message: object): void {
  visit(message, "", 0);
}

function visit(v: unknown, path: string, depth: number): void {
  if (typeof v === "string") {
    const problem = textProblem(v);
    if (problem !== undefined) throw invalidArgument(`${path || "request"} ${problem}`);
    return;
  }
  if (v === null || typeof v !== "object" || v instanceof Uint8Array) return;
  // Decoded messages are as deep as their schema; this only bounds a bug.
  if (depth > MAX_DEPTH) throw invalidArgument("request is nested too deeply");
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) visit(v[i], `${path}[${i}]`, depth + 1);
    return;
  }
  const record = v as Record<string, unknown>;
  // A oneof is { case, value }: its member is the field named by `case`.
  if (!("$typeName" in record) && "case" in record && "value" in record) {
    if (typeof record["case"] === "string") visit(record["value"], join(path, record["case"]), depth + 1);
    return;
  }
  for (const key of Object.keys(record)) {
    if (key === "$typeName" || key === "$unknown") continue;
    const isMapKey = !("$typeName" in record);
    if (isMapKey) visit(key, `${path} key`, depth + 1);
    visit(record[key], isMapKey ? `${path}[…]` : join(path, key), depth + 1);
  }
}

const join = (path: string, field: string): string => {
  const snake = field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return path === "" ? snake : `${path}.${snake}`;
};

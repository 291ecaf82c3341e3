/**
 * Assertions shared by the service and store suites: expected RPC failures, clean public error
 * messages, and response bodies searched for secrets.
 */
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { allClients, type Clients } from "../helpers/clients.js";

/** The names of every client allClients() builds, known before any server runs (describe titles need them). */
export function transportNames(): string[] {
  const cs = allClients({ grpcPort: 1, httpPort: 1 });
  for (const c of cs) c.close();
  return cs.map((c) => c.name);
}

export function byName(clients: Clients[], name: string): Clients {
  const c = clients.find((x) => x.name === name);
  if (c === undefined) throw new Error(`no client named ${name}`);
  return c;
}

/** Awaits `p`, which must fail with `code` (or one of `code`); returns the error for further checks. */
export async function rejects(p: Promise<unknown>, code: Code | Code[], what = "the call"): Promise<ConnectError> {
  const codes = Array.isArray(code) ? code : [code];
  let result: unknown;
  try {
    result = await p;
  } catch (err) {
    const ce = ConnectError.from(err);
    assert.ok(
      codes.includes(ce.code),
      // (Not "what: expected …": mocha's reporter cuts such messages at ": expected".)
      `${what} — wanted ${codes.map((c) => Code[c]).join(" or ")}, got ${Code[ce.code]} "${ce.rawMessage}"`,
    );
    assertCleanMessage(ce.rawMessage, what);
    return ce;
  }
  assert.fail(`${what} — wanted ${codes.map((c) => Code[c]).join(" or ")}, but it succeeded with ${json(result).slice(0, 300)}`);
}

/** A public error message: no stack trace, no SQL or driver text, no file paths. */
export function assertCleanMessage(msg: string, what = "the message"): void {
  assert.ok(!msg.includes("    at "), `${what}: stack trace in message: ${msg}`);
  assert.doesNotMatch(msg, /\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|WHERE|RETURNING)\b/, `${what}: SQL in message: ${msg}`);
  assert.doesNotMatch(
    msg,
    /\b(relation|violates|constraint|syntax error|pg_|tessera_\w+\(|duplicate key)\b/i,
    `${what}: database text in message: ${msg}`,
  );
  assert.doesNotMatch(
    msg,
    /(\/work\/|\/home\/|\/usr\/|node_modules|file:\/\/|\.ts:\d|\.js:\d|dist\/src)/,
    `${what}: file path in message: ${msg}`,
  );
}

/** JSON of anything protobuf-es returns (bigints become strings). */
export function json(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    typeof x === "bigint" ? x.toString() : x instanceof Uint8Array ? Buffer.from(x).toString("base64") : x,
  );
}

/** Asserts that neither a token value nor its secret part (between prefix and checksum) is in `text`. */
export function assertNoSecret(text: string, value: string, where: string): void {
  assert.ok(value.length >= 43, "a token value to look for");
  assert.ok(!text.includes(value), `${where} contains a token value`);
  assert.ok(!text.includes(value.slice(5, 37)), `${where} contains the secret part of a token value`);
}

/** `prefix…last4`, the mask DESIGN §3 describes. */
export const maskOf = (value: string): string => `${value.slice(0, 5)}…${value.slice(-4)}`;

/** A Basic credential as OpenObserve/InfluxDB clients send it. */
export const basic = (identifier: string, token: string): string => `Basic ${Buffer.from(`${identifier}:${token}`).toString("base64")}`;

/** `value` with one character of its secret changed (so the checksum no longer matches). */
export function flipOne(value: string, at = 12): string {
  const ch = value[at]!;
  const repl = ch === "A" ? "B" : "A";
  return value.slice(0, at) + repl + value.slice(at + 1);
}

/**
 * Turns driver and server errors into domain errors, so nothing above the store sees `pg`.
 * Connection-level failures become UNAVAILABLE (callers retry); everything else stays internal
 * and keeps its cause for the log.
 */
import { TesseraError, alreadyExists } from "../domain/errors.js";

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "57P01",
  "57P02",
  "57P03", // admin_shutdown, crash_shutdown, cannot_connect_now
  "08000",
  "08003",
  "08006",
  "08001",
  "08004", // connection exceptions
  "53300", // too_many_connections
]);

function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: string; constraint?: string };
  return e?.code === "23505" && (constraint === undefined || e.constraint === constraint);
}

function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (typeof e?.code === "string" && CONNECTION_CODES.has(e.code)) return true;
  const msg = typeof e?.message === "string" ? e.message : "";
  return /Connection terminated|connection timeout|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(
    msg,
  );
}

/** Rethrows `err` as a TesseraError where the failure has a public meaning. */
export function mapPgError(err: unknown): never {
  if (err instanceof TesseraError) throw err;
  if (isConnectionError(err)) {
    throw new TesseraError("UNAVAILABLE", "the database is unavailable; retry shortly", { cause: err });
  }
  throw err;
}

/**
 * Runs `fn`; a unique violation becomes ALREADY_EXISTS with `message`, or with what `byConstraint`
 * says for the violated constraint when it says anything (a table with several unique keys).
 */
export async function uniqueAs<T>(
  message: string,
  fn: () => Promise<T>,
  byConstraint?: (constraint: string) => string | undefined,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isUniqueViolation(err)) throw alreadyExists(byConstraint?.(String((err as { constraint?: unknown }).constraint ?? "")) ?? message);
    throw err;
  }
}

/**
 * Structured logs through pino: one JSON object per line on stderr, or a short human line when
 * stderr is a terminal. Call sites keep the small `Log` function type: the event name is both the
 * `event` field (stable, for machines: `"event":"worker_ready"`) and pino's `msg` (what log viewers
 * show), and the level comes from the event name through LEVELS below, so no call site has to
 * choose one. Fields are data about events (ids, kinds, counts), never token values: nothing in
 * the codebase passes a value to a logger, and pino's `redact` censors every credential-bearing
 * key as a last line of defence, configured once here.
 */
import { type DestinationStream, type LevelWithSilent, pino } from "pino";

export type Log = ((event: string, fields?: Record<string, unknown>) => void) & {
  /**
   * Whether `event` would be written at the logger's level, for call sites that would build
   * something per call only to have it dropped (Verify's per-call line at debug).
   */
  readonly enabled?: (event: string) => boolean;
};

/**
 * Whether `log` writes `event` at its level. A log that cannot say (a plain function, such as a
 * test's collector) is given nothing per Verify call: false.
 */
export function logs(log: Log, event: string): boolean {
  return log.enabled?.(event) ?? false;
}

type EventLevel = Exclude<LevelWithSilent, "silent">;

/**
 * Every event that is not routine, with its level; anything not listed is `info`, except that a
 * name ending in `_failed`, `_error` or `_crashed` is `error`.
 */
const LEVELS: Record<string, EventLevel> = {
  // Something is wrong but the service copes (retries, answers from the database, restarts).
  rpc_unavailable_started: "warn",
  rpc_unavailable_ongoing: "warn",
  revocation_listener_disconnected: "warn",
  embedded_postgres_cluster_outside_data_dir: "warn",
  worker_exited: "warn",
  worker_restarting: "warn",
  db_idle_error: "warn",
  // A cleanup failing while the process stops anyway; a second signal not waiting for it.
  shutdown_error: "warn",
  shutdown_forced: "warn",
  // Stopping took too long: the process exits 1 without finishing.
  shutdown_deadline_exceeded: "error",
  // A create that found the same token already there: per-call detail.
  token_exists: "debug",
  // One line per call (transport/call-log.ts). Verify and Check run thousands a second: only at
  // debug, as are calls refused while the database is down (rpc_unavailable_* count those).
  // An admin call that succeeded or was refused for its input is routine; refused for its
  // credential or permissions is worth a look; rpc_failed (an internal error) is an error.
  data_rpc_finished: "debug",
  rpc_unavailable_call: "debug",
  rpc_finished: "info",
  rpc_refused: "info",
  rpc_denied: "warn",
};

export function levelOf(event: string): EventLevel {
  return LEVELS[event] ?? (/_(failed|error|crashed)$/.test(event) ? "error" : "info");
}

/**
 * Keys that may carry a credential, at the top level and one level down (`headers.authorization`,
 * `request.token`); pino cannot match a key at any depth, and no call site nests deeper.
 */
const SECRET_KEYS = [
  "authorization",
  "Authorization",
  "token",
  "tokenValue",
  "value",
  "password",
  "secret",
  "credential",
  "cookie",
  "x-tessera-token",
];
const REDACT_PATHS = [
  ...SECRET_KEYS.map((k) => `["${k}"]`),
  ...SECRET_KEYS.map((k) => `*["${k}"]`),
  ...SECRET_KEYS.map((k) => `headers["${k}"]`),
  ...SECRET_KEYS.map((k) => `*.headers["${k}"]`),
];

export interface LogOptions {
  /** Config's logLevel (TESSERA_LOG_LEVEL); default info. */
  level?: LevelWithSilent;
  /** Where JSON lines go (one `write` per line); default stderr, human lines if it is a terminal. */
  destination?: DestinationStream;
}

export function createLog(opts: LogOptions = {}): Log {
  const logger = pino(
    {
      level: opts.level ?? "info",
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    },
    opts.destination ?? stderr(),
  );
  const write = (event: string, fields: Record<string, unknown> = {}) => logger[levelOf(event)]({ ...fields, event }, event);
  return Object.assign(write, { enabled: (event: string) => logger.isLevelEnabled(levelOf(event)) });
}

/** Synchronous, so the last lines before process.exit are not lost; the volume is small. */
function stderr(): DestinationStream {
  const fd = pino.destination({ fd: 2, sync: true });
  return process.stderr.isTTY ? { write: (line: string) => fd.write(humanLine(line)) } : fd;
}

const LEVEL_NAMES: Record<number, string> = { 10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL" };

/** `12:00:01.234 WARN  rpc_unavailable_started procedure=… error=…` from one (redacted) JSON line. */
export function humanLine(json: string): string {
  const { level, time, msg, event: _event, pid: _pid, ...rest } = JSON.parse(json) as Record<string, unknown>;
  const clock = typeof time === "string" ? time.slice(11, 23) : "";
  const fields = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
  return `${clock} ${(LEVEL_NAMES[Number(level)] ?? String(level)).padEnd(5)} ${String(msg)} ${fields.join(" ")}`.trimEnd() + "\n";
}

export const silentLog: Log = Object.assign(() => undefined, { enabled: () => false });

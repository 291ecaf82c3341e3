/**
 * Structured JSON logs, one object per line on stderr. Fields are data about events (ids, kinds,
 * counts), never token values: nothing in the codebase passes a value to a logger, and keys that
 * look like secrets are redacted as a last line of defence.
 */
export type Log = (event: string, fields?: Record<string, unknown>) => void;

const SECRET_KEYS = /^(value|token|tokenvalue|secret|password|authorization|credential)$/i;

export function createJsonLog(write: (line: string) => void = (l) => process.stderr.write(l + "\n")): Log {
  return (event, fields = {}) => {
    const safe: Record<string, unknown> = { time: new Date().toISOString(), event };
    for (const [k, v] of Object.entries(fields)) safe[k] = SECRET_KEYS.test(k) ? "[redacted]" : v;
    write(JSON.stringify(safe));
  };
}

export const silentLog: Log = () => undefined;

// Durations and times as people write them: `24h`, `7d`, `1h30m`, and RFC 3339 instants with an
// explicit offset. The CLI's `--expires-in`/`--expires` and a manifest's `expires_in`/`expire_time`
// read them with the same rules, so a value that works in one works in the other.

const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** The longest duration accepted unless a caller asks for less: a hundred years. */
export const MAX_DURATION_MS = 100 * 365 * 86_400_000;

export type ParsedDuration = { ok: true; ms: number } | { ok: false; problem: "not-a-duration" | "zero" | "too-long" };

/** "24h", "90m", "7d", "1h30m": a positive duration in milliseconds, at most `maxMs` (100 years). */
export function parseDurationText(raw: string, maxMs = MAX_DURATION_MS): ParsedDuration {
  if (!/^(\d+[smhdw])+$/.test(raw)) return { ok: false, problem: "not-a-duration" };
  let ms = 0;
  for (const [, n, unit] of raw.matchAll(/(\d+)([smhdw])/g)) ms += Number(n) * (UNIT_MS[unit ?? ""] ?? 0);
  if (ms <= 0) return { ok: false, problem: "zero" };
  if (!Number.isSafeInteger(ms) || ms > maxMs) return { ok: false, problem: "too-long" };
  return { ok: true, ms };
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

/** An RFC 3339 time with an explicit offset (e.g. 2026-12-31T00:00:00Z), or undefined. */
export function parseRfc3339(raw: string): Date | undefined {
  if (!RFC3339.test(raw)) return undefined;
  const d = new Date(raw);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

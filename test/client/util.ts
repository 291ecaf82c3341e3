/** Small helpers for the worker client's tests. */

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value (which is returned) or `timeoutMs` passes. */
export async function eventually<T>(fn: () => T | Promise<T>, timeoutMs = 2000, what = "condition", everyMs = 5): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** A clock that follows real time plus an offset the test moves. */
export function skewedClock(): { now: () => number; advance(ms: number): void } {
  let skew = 0;
  return { now: () => Date.now() + skew, advance: (ms) => void (skew += ms) };
}

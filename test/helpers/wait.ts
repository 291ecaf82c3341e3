/**
 * Waiting on conditions rather than for fixed times. A timeout here only bounds how long a failing
 * test takes to say so, never what a passing one asserts; so it is generous: on a loaded machine
 * a condition that holds within milliseconds on an idle one can take seconds.
 */

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** How long `eventually` waits by default. */
export const PATIENCE_MS = 15_000;

/** Polls `fn` until it returns a truthy value (which is returned), or throws after `timeoutMs`. */
export async function eventually<T>(
  fn: () => T | Promise<T>,
  timeoutMs = PATIENCE_MS,
  what = "condition",
  everyMs = 5,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Small helpers for the worker client's tests. */

export { eventually, sleep } from "../helpers/wait.js";

/** A clock that follows real time plus an offset the test moves. */
export function skewedClock(): { now: () => number; advance(ms: number): void } {
  let skew = 0;
  return { now: () => Date.now() + skew, advance: (ms) => void (skew += ms) };
}

/**
 * A clock that moves only when the test moves it, for staleness bounds far shorter than a loaded
 * machine may take between two steps of a test: nothing computed from it depends on that time.
 */
export function manualClock(start = Date.UTC(2026, 0, 1)): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

/**
 * Freezes a value and everything it holds, for objects that several holders share (cached
 * answers, interned permissions): none of them may change what the others see. Frozen before
 * descending, so a cycle ends the walk instead of recursing forever.
 */
export function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === "object" && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) deepFreeze(v);
  }
  return o;
}

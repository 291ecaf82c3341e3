/** "Did you mean …?" for a mistyped command: the closest known name, if it is close enough. */

/** Edits (insert, delete, substitute, swap two neighbours) between two short words. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The known name `typed` most likely meant: within two edits (one for names of three letters or fewer), or one it starts. */
export function didYouMean(typed: string, known: readonly string[]): string | undefined {
  if (typed === "" || typed.length > 64) return undefined;
  let best: { name: string; d: number } | undefined;
  for (const name of known) {
    const d = name.startsWith(typed) && typed.length >= 2 ? 0.5 : distance(typed.toLowerCase(), name);
    if (d <= (name.length <= 3 ? 1 : 2) && (best === undefined || d < best.d)) best = { name, d };
  }
  return best?.name;
}

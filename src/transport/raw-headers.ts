// Node's headers objects keep only the first value of single-value headers such as
// `authorization`; the raw lists ([name, value, name, value, ...]) keep every one.

/** How many times `name` (lowercase) occurs in a raw header list. */
export function countRawHeader(raw: readonly string[], name: string): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === name.length && raw[i]!.toLowerCase() === name) n++;
  return n;
}

/** Every value of `name` (lowercase) in a raw header list, in order. */
export function rawHeaderValues(raw: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) out.push(raw[i + 1]!);
  return out;
}

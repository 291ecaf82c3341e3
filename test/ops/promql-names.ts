/**
 * The metric names a PromQL expression reads, for checking a dashboard against what Tessera
 * exports: string literals, label matchers, ranges and groupings removed, then every identifier
 * that is not a function call, keyword or number. A histogram's `_bucket`, `_sum` and `_count`
 * series are reported as read; callers map them to the histogram.
 */

const KEYWORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "bool",
  "and",
  "or",
  "unless",
  "offset",
  "inf",
  "nan",
]);

/** Metric names in `expr`, and each selector's label matchers (name, operator, value). */
export function promqlSelectors(expr: string): Array<{ metric: string; matchers: Array<{ label: string; op: string; value: string }> }> {
  const out: Array<{ metric: string; matchers: Array<{ label: string; op: string; value: string }> }> = [];
  // Grafana's label_values(metric, label) names a metric as a function argument.
  const lv = /^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,/.exec(expr.trim());
  if (lv !== null) return [{ metric: lv[1]!, matchers: [] }];
  const matcherLists: string[] = [];
  // Selectors' braces first (their values may hold anything), replaced by a placeholder.
  let s = expr.replace(/\{((?:[^{}"]|"(?:[^"\\]|\\.)*")*)\}/g, (_, body: string) => {
    matcherLists.push(body);
    return ` __m${matcherLists.length - 1} `;
  });
  s = s
    .replace(/"(?:[^"\\]|\\.)*"/g, " ") // remaining strings (label_replace arguments)
    .replace(/\[[^\]]*\]/g, " ") // ranges and subqueries
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " "); // grouping label lists
  const token = /([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?(\s+__m(\d+))?|__m(\d+)/g;
  for (const m of s.matchAll(token)) {
    if (m[5] !== undefined) continue; // a bare {…} selector without a name: none in our queries
    const name = m[1]!;
    if (name.startsWith("__m")) continue;
    if (m[2] !== undefined) continue; // a function
    if (KEYWORDS.has(name.toLowerCase())) continue;
    const body = m[4] === undefined ? "" : matcherLists[Number(m[4])]!;
    const matchers = [...body.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)].map((x) => ({
      label: x[1]!,
      op: x[2]!,
      value: x[3]!,
    }));
    out.push({ metric: name, matchers });
  }
  return out;
}

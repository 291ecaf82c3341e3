/**
 * An honest lower-bound estimate of a string's entropy, for values imported from other systems
 * (CreateToken's `value`): how many bits an attacker who knows the usual shapes of weak secrets
 * must guess, at least. Pure: no I/O, no randomness.
 *
 * The estimate is the cheapest description of the string as a sequence of pieces, each costing
 * the bits needed to name it (dynamic programming over positions, as zxcvbn does):
 *
 * - a character on its own costs log2(alphabet). The alphabet is the smallest common one that
 *   covers every character (digits 10, hex 16, lowercase 26, base32 32, lowercase+digits 36,
 *   letters 52, alphanumerics 62, base64 64, printable ASCII 94; or the sum of the classes used),
 *   shrunk when the string shows too few distinct characters for it: the largest alphabet under
 *   which a random string this long would show so few with a probability of at least 1%. So a
 *   string of 0s and 1s counts 1 bit a character, not log2(10).
 * - a copy of an earlier part (repeats: `aaaa`, `abcabcabc`, `x7Kx7K`) costs its position and
 *   length: log2(offset) + log2(length).
 * - a sequence of 4+ characters stepping by one (`abcd`, `6543`, `PQRS`) costs its start, its
 *   direction and its length.
 * - a keyboard run of 4+ neighbouring keys on one QWERTY row (`qwer`, `asdf`, `zxcvbn`, `7890-=`)
 *   costs its start key, its direction and its length.
 * - a word of 4+ letters from a small embedded list of words common in passwords and secrets
 *   (common-words.ts), with its case and common substitutions (`P@ssw0rd`), costs its rank in the
 *   list plus a bit per changed letter.
 *
 * Why not zxcvbn (@zxcvbn-ts/core is on npm and well known): it is tuned for human passwords and
 * credits an unmatched character with 10 guesses (3.3 bits) whatever its class, so it would put a
 * random 32-character alphanumeric key (190 bits) below 128; and its useful dictionaries are a
 * language pack of megabytes. A token service needs the opposite calibration: full credit for
 * random characters, none for the patterns above.
 *
 * Calibration: 32 random hex digits are exactly 128 bits and pass unless they happen to hold a
 * pattern (a few percent do); 32 random alphanumerics (~190 bits) or 43 random base64 characters
 * (~258 bits) pass with a wide margin.
 */
import { COMMON_WORDS } from "./common-words.js";

/** The patterns that can lower an estimate; named (never quoted) in refusals. */
export type Weakness = "repeat" | "sequence" | "keyboard" | "word" | "few-characters";

export interface EntropyEstimate {
  bits: number;
  /** The patterns the cheapest description used, and whether the alphabet was shrunk. */
  weaknesses: Weakness[];
}

const MIN_PATTERN = 4;

/** Common alphabets, smallest first: the first that covers the string sets the per-character credit. */
const ALPHABETS: ReadonlyArray<{ size: number; chars: RegExp }> = [
  { size: 10, chars: /^[0-9]*$/ },
  { size: 16, chars: /^[0-9a-f]*$/ },
  { size: 16, chars: /^[0-9A-F]*$/ },
  { size: 26, chars: /^[a-z]*$/ },
  { size: 26, chars: /^[A-Z]*$/ },
  { size: 32, chars: /^[A-Z2-7=]*$/ },
  { size: 32, chars: /^[a-z2-7=]*$/ },
  { size: 36, chars: /^[a-z0-9]*$/ },
  { size: 36, chars: /^[A-Z0-9]*$/ },
  { size: 52, chars: /^[A-Za-z]*$/ },
  { size: 62, chars: /^[A-Za-z0-9]*$/ },
  { size: 64, chars: /^[A-Za-z0-9+/=]*$/ },
  { size: 64, chars: /^[A-Za-z0-9_=-]*$/ },
];

/** Sizes of the classes of printable ASCII without space: lower, upper, digits, symbols. */
function classSum(s: string): number {
  let lower = false;
  let upper = false;
  let digit = false;
  let symbol = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 97 && c <= 122) lower = true;
    else if (c >= 65 && c <= 90) upper = true;
    else if (c >= 48 && c <= 57) digit = true;
    else symbol = true;
  }
  return (lower ? 26 : 0) + (upper ? 26 : 0) + (digit ? 10 : 0) + (symbol ? 32 : 0);
}

function coveringAlphabet(s: string): number {
  const cls = classSum(s);
  for (const a of ALPHABETS) if (a.chars.test(s)) return Math.min(a.size, cls);
  return Math.min(94, cls);
}

/** P(at most `d` distinct symbols in `n` uniform draws from `a`): the occupancy distribution, cut at d. */
function probAtMostDistinct(a: number, n: number, d: number): number {
  let p = new Float64Array(d + 1);
  p[0] = 1;
  for (let t = 0; t < n; t++) {
    const q = new Float64Array(d + 1);
    for (let k = 0; k <= d; k++) {
      const pk = p[k]!;
      if (pk === 0) continue;
      q[k]! += (pk * k) / a;
      if (k < d) q[k + 1]! += (pk * (a - k)) / a;
    }
    p = q;
  }
  let sum = 0;
  for (const x of p) sum += x;
  return sum;
}

/** The alphabet credited per character: the covering one, shrunk to what `distinct` makes plausible (p >= 1%). */
export function effectiveAlphabet(s: string): { size: number; shrunk: boolean } {
  const cover = coveringAlphabet(s);
  const distinct = new Set(s).size;
  if (distinct >= cover || probAtMostDistinct(cover, s.length, distinct) >= 0.01) return { size: cover, shrunk: false };
  // P(at most `distinct`) falls as the alphabet grows: the largest size still at 1% or more.
  let lo = Math.max(distinct, 1);
  let hi = cover;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (probAtMostDistinct(mid, s.length, distinct) >= 0.01) lo = mid;
    else hi = mid;
  }
  return { size: Math.max(lo, 2), shrunk: true };
}

// ---- patterns ----

/** For each position, the longest copy of an earlier part starting there (copies may overlap, as in `aaaa`). */
function longestCopies(s: string): Int32Array {
  const n = s.length;
  const best = new Int32Array(n);
  for (let d = 1; d < n; d++) {
    let run = 0;
    for (let i = n - 1; i >= d; i--) {
      run = s.charCodeAt(i) === s.charCodeAt(i - d) ? run + 1 : 0;
      if (run > best[i]!) best[i] = run;
    }
  }
  return best;
}

function charClass(c: number): number {
  if (c >= 97 && c <= 122) return 1;
  if (c >= 65 && c <= 90) return 2;
  if (c >= 48 && c <= 57) return 3;
  return 0;
}

/** For each position, the longest run stepping by +1 or -1 within one class (letters of one case, or digits). */
function longestSequences(s: string): Int32Array {
  const n = s.length;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const cls = charClass(s.charCodeAt(i));
    if (cls === 0 || i + 1 >= n) {
      out[i] = 1;
      continue;
    }
    const step = s.charCodeAt(i + 1) - s.charCodeAt(i);
    let len = 1;
    if (step === 1 || step === -1) {
      while (i + len < n && charClass(s.charCodeAt(i + len)) === cls && s.charCodeAt(i + len) - s.charCodeAt(i + len - 1) === step) len++;
    }
    out[i] = len;
  }
  return out;
}

const KEYBOARD_ROWS = [
  "`1234567890-=",
  "qwertyuiop[]\\",
  "asdfghjkl;'",
  "zxcvbnm,./",
  "~!@#$%^&*()_+",
  "QWERTYUIOP{}|",
  'ASDFGHJKL:"',
  "ZXCVBNM<>?",
];
/** Key position (row * 100 + column) of each character; used to tell neighbours. */
const KEY_AT = new Map<string, number>();
KEYBOARD_ROWS.forEach((row, r) => [...row].forEach((ch, col) => KEY_AT.set(ch, (r % 4) * 100 + col)));
const KEY_COUNT = 47;

/** For each position, the longest run of keys that are neighbours on one row, all in one direction. */
function longestKeyboardRuns(s: string): Int32Array {
  const n = s.length;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const a = KEY_AT.get(s[i]!);
    const b = i + 1 < n ? KEY_AT.get(s[i + 1]!) : undefined;
    let len = 1;
    if (a !== undefined && b !== undefined && (b - a === 1 || b - a === -1)) {
      const step = b - a;
      while (i + len < n) {
        const prev = KEY_AT.get(s[i + len - 1]!);
        const next = KEY_AT.get(s[i + len]!);
        if (prev === undefined || next === undefined || next - prev !== step) break;
        len++;
      }
    }
    out[i] = len;
  }
  return out;
}

const LEET: Readonly<Record<string, string>> = {
  "0": "o",
  "1": "i",
  "3": "e",
  "4": "a",
  "5": "s",
  "7": "t",
  "@": "a",
  $: "s",
  "!": "i",
  "|": "l",
};
const WORDS = new Map<string, number>(COMMON_WORDS.map((w, i) => [w, i + 1]));
const MAX_WORD = Math.max(...COMMON_WORDS.map((w) => w.length));

/** Bits to name `piece` as a word of the list, with its case and substitutions; undefined when it is none. */
function wordCost(piece: string): number | undefined {
  let plain = "";
  let subs = 0;
  let alt = "";
  for (const ch of piece) {
    const l = LEET[ch];
    if (l !== undefined) subs++;
    plain += l ?? ch.toLowerCase();
    alt += ch === "1" ? "l" : (l ?? ch.toLowerCase());
  }
  const rank = WORDS.get(plain) ?? WORDS.get(alt);
  if (rank === undefined) return undefined;
  const letters = piece.replace(/[^A-Za-z]/g, "");
  const caseBits =
    letters === letters.toLowerCase() ? 0 : letters === letters.toUpperCase() || /^[A-Z][^A-Z]*$/.test(piece) ? 1 : letters.length;
  return Math.log2(rank + 1) + caseBits + subs;
}

const log2 = Math.log2;

export function estimateEntropy(value: string): EntropyEstimate {
  const n = value.length;
  if (n === 0) return { bits: 0, weaknesses: [] };
  const alphabet = effectiveAlphabet(value);
  const charBits = log2(alphabet.size);
  const copies = longestCopies(value);
  const seqs = longestSequences(value);
  const keys = longestKeyboardRuns(value);

  // best[i]: fewest bits describing value[0..i); via[i]: the pattern of the last piece (undefined: a single character).
  const best = new Float64Array(n + 1).fill(Infinity);
  const via: Array<Weakness | undefined> = new Array(n + 1);
  const from = new Int32Array(n + 1);
  best[0] = 0;
  const relax = (i: number, len: number, bits: number, w: Weakness | undefined) => {
    const b = best[i]! + bits;
    if (b < best[i + len]!) {
      best[i + len] = b;
      via[i + len] = w;
      from[i + len] = i;
    }
  };
  for (let i = 0; i < n; i++) {
    if (best[i] === Infinity) continue;
    relax(i, 1, charBits, undefined);
    for (let len = MIN_PATTERN; len <= copies[i]!; len++) relax(i, len, log2(i) + log2(len), "repeat");
    for (let len = MIN_PATTERN; len <= seqs[i]!; len++) relax(i, len, charBits + 1 + log2(len), "sequence");
    for (let len = MIN_PATTERN; len <= keys[i]!; len++) relax(i, len, log2(KEY_COUNT) + 1 + log2(len), "keyboard");
    for (let len = MIN_PATTERN; len <= MAX_WORD && i + len <= n; len++) {
      const cost = wordCost(value.slice(i, i + len));
      if (cost !== undefined) relax(i, len, cost, "word");
    }
  }
  const found = new Set<Weakness>();
  for (let i = n; i > 0; i = from[i]!) {
    const w = via[i];
    if (w !== undefined) found.add(w);
  }
  if (alphabet.shrunk) found.add("few-characters");
  return { bits: best[n]!, weaknesses: [...found] };
}

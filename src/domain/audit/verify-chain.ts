/**
 * Walks one trail's entries in sequence order and says where the chain breaks.
 *
 * Each entry carries the previous entry's hash and its own hash, a MAC over its content and that
 * previous hash. Whoever edits the table without the key can:
 *  - change an entry: its MAC no longer matches, while the next entry still links to it (CHANGED);
 *  - remove entries: the next one's previous hash is not the hash of the entry before the gap
 *    (REMOVED, reported at the first entry after it);
 *  - insert one: its MAC cannot match, and the entry after it links past it to the one before
 *    (INSERTED).
 * After a problem the walk trusts the chain again from the next entry that verifies, so one
 * tampering is reported once, not as a cascade. Removing the newest entries leaves nothing inside
 * the trail to notice: the head (last sequence and hash) is returned so it can be compared with one
 * kept elsewhere.
 */
import { type AuditEntry, GENESIS_HASH } from "./entry.js";
import { macMessage } from "./mac-message.js";

export type ChainProblemKind = "CHANGED" | "REMOVED" | "INSERTED" | "UNKNOWN_KEY";

export interface ChainProblem {
  seq: bigint;
  kind: ChainProblemKind;
  detail: string;
}

export interface ChainReport {
  checked: number;
  firstSeq: bigint;
  lastSeq: bigint;
  headHash: Buffer;
  problems: ChainProblem[];
  /** True when problems were left out past the limit. */
  truncated: boolean;
}

export interface ChainKeys {
  has(keyId: number): boolean;
  auditMac(message: Buffer, keyId: number): Buffer;
  /** Constant-time comparison. */
  equal(a: Buffer, b: Buffer): boolean;
}

const MAX_PROBLEMS = 100;

/** Incremental: feed entries in sequence order with `push`, then `finish`. */
export class ChainWalk {
  readonly #keys: ChainKeys;
  /** The hash the next entry must link to. */
  #expected: Buffer;
  /** An entry whose MAC failed, held until the next entry says whether it was inserted or changed. */
  #suspect: AuditEntry | undefined;
  #prevSeq: bigint | undefined;
  readonly #report: ChainReport;

  /** `anchor`: the hash the oldest kept entry must link to (genesis, or what retention removed last). */
  constructor(keys: ChainKeys, anchor: Buffer = GENESIS_HASH) {
    this.#keys = keys;
    this.#expected = anchor;
    this.#report = { checked: 0, firstSeq: 0n, lastSeq: 0n, headHash: Buffer.alloc(0), problems: [], truncated: false };
  }

  push(e: AuditEntry): void {
    const r = this.#report;
    if (r.checked === 0) r.firstSeq = e.seq;
    r.checked++;
    r.lastSeq = e.seq;
    r.headHash = e.hash;
    const suspect = this.#suspect;
    this.#suspect = undefined;
    if (!this.#keys.has(e.keyId)) {
      if (suspect !== undefined) this.#settle(suspect, e);
      this.#problem(e.seq, "UNKNOWN_KEY", `entry ${e.seq} was written under key ${e.keyId}, which is not in the key file`);
      this.#expected = e.hash;
      this.#prevSeq = e.seq;
      return;
    }
    const macOk = this.#keys.equal(this.#keys.auditMac(macMessage(e.prevHash, e), e.keyId), e.hash);
    if (suspect !== undefined) {
      this.#settle(suspect, e);
    } else if (macOk && !this.#keys.equal(e.prevHash, this.#expected)) {
      const from = this.#prevSeq === undefined ? "the start of the trail" : `entry ${this.#prevSeq}`;
      this.#problem(e.seq, "REMOVED", `entries between ${from} and entry ${e.seq} are missing`);
    }
    this.#prevSeq = e.seq;
    if (macOk) {
      this.#expected = e.hash;
      return;
    }
    // Decided by the next entry (or by finish).
    this.#suspect = e;
  }

  finish(): ChainReport {
    if (this.#suspect !== undefined) {
      const s = this.#suspect;
      this.#suspect = undefined;
      this.#problem(s.seq, "CHANGED", `entry ${s.seq}, the newest, does not match its MAC`);
    }
    return this.#report;
  }

  /** `s` failed its MAC; `next` is the entry after it. */
  #settle(s: AuditEntry, next: AuditEntry): void {
    if (this.#keys.equal(next.prevHash, this.#expected) && !this.#keys.equal(next.prevHash, s.hash)) {
      // The chain goes from the entry before `s` straight to `next`: `s` was never in it.
      this.#problem(s.seq, "INSERTED", `entry ${s.seq} is not part of the chain: the entries around it link past it`);
      return;
    }
    this.#problem(s.seq, "CHANGED", `entry ${s.seq} does not match its MAC: its content was changed`);
    // Trust what the next entry says the changed one's hash was.
    this.#expected = next.prevHash;
  }

  #problem(seq: bigint, kind: ChainProblemKind, detail: string): void {
    const r = this.#report;
    if (r.problems.length >= MAX_PROBLEMS) {
      r.truncated = true;
      return;
    }
    r.problems.push({ seq, kind, detail });
  }
}

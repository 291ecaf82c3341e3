/**
 * Walks one trail's seals in sequence order, each with the entry it names, and says where the
 * trail was tampered with.
 *
 * A seal carries the previous seal's hash and its own, a MAC over its place, that previous hash
 * and its entry's id and MAC; an entry carries a MAC over its content. Whoever edits the tables
 * without the key can:
 *  - change an entry: its MAC no longer matches its content, or the seal's copy (CHANGED);
 *  - remove entries or seals: a sealed entry is missing, or the next seal's previous hash is not
 *    the hash of the seal before the gap (REMOVED, reported at the first seal after it);
 *  - add an entry: the sealer seals it flagged (its MAC was wrong), or it lies below the sealer's
 *    cursor with no seal at all; or add a seal, whose MAC cannot match and which the next seal
 *    links past (INSERTED).
 * After a problem the walk trusts the chain again from the next seal that verifies, so one
 * tampering is reported once, not as a cascade. Removing the newest seals leaves nothing inside
 * the trail to notice: the head (last sequence and hash) is returned so it can be compared with one
 * kept elsewhere.
 */
import { type AuditEntry, type AuditSeal, GENESIS_HASH } from "./entry.js";
import { entryMacMessage, sealMacMessage } from "./mac-message.js";

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

/** Incremental: feed seals in sequence order with `push`, entries nobody sealed with `stray`, then `finish`. */
export class ChainWalk {
  readonly #keys: ChainKeys;
  /** The hash the next seal must link to. */
  #expected: Buffer;
  /** A seal whose MAC failed, held until the next seal says whether it was inserted or changed. */
  #suspect: AuditSeal | undefined;
  #prevSeq: bigint | undefined;
  readonly #report: ChainReport;

  /** `anchor`: the hash the oldest kept seal must link to (genesis, or what retention removed last). */
  constructor(keys: ChainKeys, anchor: Buffer = GENESIS_HASH) {
    this.#keys = keys;
    this.#expected = anchor;
    this.#report = { checked: 0, firstSeq: 0n, lastSeq: 0n, headHash: Buffer.alloc(0), problems: [], truncated: false };
  }

  push(s: AuditSeal, entry: AuditEntry | undefined): void {
    const r = this.#report;
    if (r.checked === 0) r.firstSeq = s.seq;
    r.checked++;
    r.lastSeq = s.seq;
    r.headHash = s.hash;
    const suspect = this.#suspect;
    this.#suspect = undefined;
    if (suspect !== undefined) this.#settle(suspect, s);
    if (!this.#keys.has(s.keyId)) {
      this.#problem(s.seq, "UNKNOWN_KEY", `seal ${s.seq} was made with key ${s.keyId}, which is not in the key file`);
      this.#advance(s);
      return;
    }
    const sealOk = this.#keys.equal(this.#keys.auditMac(sealMacMessage(s), s.keyId), s.hash);
    if (!sealOk) {
      this.#suspect = s; // decided by the next seal (or by finish)
      this.#prevSeq = s.seq;
      return;
    }
    if (suspect === undefined && !this.#keys.equal(s.prevHash, this.#expected)) {
      const from = this.#prevSeq === undefined ? "the start of the trail" : `entry ${this.#prevSeq}`;
      this.#problem(s.seq, "REMOVED", `entries between ${from} and entry ${s.seq} are missing`);
    }
    this.#checkEntry(s, entry);
    this.#advance(s);
  }

  /** An entry below the sealer's cursor that no seal names: not written through the trail. */
  stray(e: AuditEntry): void {
    this.#problem(0n, "INSERTED", `an entry (${e.action} at ${e.at.toISOString()}) is in the trail but was never sealed into its chain`);
  }

  finish(): ChainReport {
    if (this.#suspect !== undefined) {
      const s = this.#suspect;
      this.#suspect = undefined;
      this.#problem(s.seq, "CHANGED", `entry ${s.seq}, the newest, does not match its seal`);
    }
    return this.#report;
  }

  #checkEntry(s: AuditSeal, e: AuditEntry | undefined): void {
    if (e === undefined) {
      this.#problem(s.seq, "REMOVED", `entry ${s.seq} is missing: its seal remains`);
      return;
    }
    if (!s.entryOk) {
      this.#problem(s.seq, "INSERTED", `entry ${s.seq} was not written by Tessera: its MAC was wrong when it was sealed`);
      return;
    }
    if (!this.#keys.has(e.keyId)) {
      this.#problem(s.seq, "UNKNOWN_KEY", `entry ${s.seq} was written under key ${e.keyId}, which is not in the key file`);
      return;
    }
    const ok = this.#keys.equal(e.mac, s.entryMac) && this.#keys.equal(this.#keys.auditMac(entryMacMessage(e), e.keyId), e.mac);
    if (!ok) this.#problem(s.seq, "CHANGED", `entry ${s.seq} does not match its MAC: its content was changed`);
  }

  #advance(s: AuditSeal): void {
    this.#expected = s.hash;
    this.#prevSeq = s.seq;
  }

  /** `s` failed its MAC; `next` is the seal after it. */
  #settle(s: AuditSeal, next: AuditSeal): void {
    if (this.#keys.equal(next.prevHash, this.#expected) && !this.#keys.equal(next.prevHash, s.hash)) {
      // The chain goes from the seal before `s` straight to `next`: `s` was never in it.
      this.#problem(s.seq, "INSERTED", `entry ${s.seq} is not part of the chain: the entries around it link past it`);
      return;
    }
    this.#problem(s.seq, "CHANGED", `entry ${s.seq} does not match its seal: it was changed`);
    // Trust what the next seal says the changed one's hash was.
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

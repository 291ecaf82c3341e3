/**
 * The desired state a manifest (`tessera apply -f tessera.yaml`) describes, once read and
 * checked: plain records with every name validated, each carrying the path it came from
 * (`organizations[2].tokens[0]`) so that later findings — at plan time, against the server's
 * state — can still point at the file.
 */
import type { Permissions, RoleName } from "../model.js";
import type { TokenKind } from "../token-format.js";

/** A place in the manifest file, 1-based. */
export interface Pos {
  line: number;
  col: number;
}

/** Something wrong with the manifest: where (path and position) and what. Never quotes a token value. */
export interface Problem {
  path: string;
  line: number;
  col: number;
  message: string;
}

/**
 * A token value read from the environment or a file. It prints as `[redacted]` however it is
 * printed (String(), JSON, util.inspect), so a plan or an error can never show it by accident;
 * `reveal()` is the one way to the text, for the call that creates the token.
 */
export class SecretValue {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return "[redacted]";
  }
  toJSON(): string {
    return "[redacted]";
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return "[redacted]";
  }
}

/** Where a new token's value comes from; used only when the token is created. */
export type ValueSource =
  | { from: "env"; variable: string; value: SecretValue }
  | { from: "file"; file: string; value: SecretValue }
  /** The server generates it; it is written to the values file, the only time it is shown. */
  | { from: "generate" }
  /**
   * Only for an organization's `default` token, which its organization's creation makes; with
   * `save` (the manifest says `generate: true`) its value is written to the values file.
   */
  | { from: "organization"; save: boolean }
  /** What the server is sent (ApplyManifest): a value (none in a dry run of a generated one) and how the plan describes it. */
  | { from: "supplied"; value: SecretValue | undefined; source: string };

export type Expiry =
  | { kind: "never" }
  | { kind: "at"; time: Date }
  /** A lifetime counted from creation: sets the expiry of a new token; leaves an existing one's alone. */
  | { kind: "in"; ms: number; text: string };

export interface DesiredToken {
  path: string;
  name: string;
  kind: TokenKind;
  description: string;
  /** User name of the owner, for ALL_ACCESS and READ_WRITE tokens. */
  owner: string | null;
  permissions: Permissions;
  expiry: Expiry;
  value: ValueSource;
}

export interface DesiredBucket {
  path: string;
  name: string;
  description: string;
}

export interface DesiredMember {
  path: string;
  user: string;
  role: RoleName;
}

export interface DesiredOrganization {
  path: string;
  identifier: string;
  name: string;
  /** Identifier of the parent organization; null for a top-level organization. */
  parent: string | null;
  /** Whether the parent's tokens may reach it (sub-organizations only; true by default). */
  parentAccess: boolean;
  buckets: DesiredBucket[];
  members: DesiredMember[];
  tokens: DesiredToken[];
}

export interface DesiredUser {
  path: string;
  name: string;
  root: boolean;
}

export interface DesiredState {
  users: DesiredUser[];
  /** Every organization, nested ones included, each after its parent when the file declares both. */
  organizations: DesiredOrganization[];
  /**
   * Where generated values are written: `--values-out` (relative to the working directory), else
   * the file's `values_out` (relative to the file); undefined when neither is given.
   */
  valuesOut: { file: string; source: "flag" | "manifest" } | undefined;
  /** The position of every path the file has, for problems found after reading. */
  positions: ReadonlyMap<string, Pos>;
}

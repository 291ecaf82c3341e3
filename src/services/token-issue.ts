/**
 * Minting a token value: generate (or accept) the value, digest it under the current key, and
 * keep only the digest and a mask. The value goes back to the caller once and is never stored.
 */
import { randomUUID } from "node:crypto";
import type { Keyring } from "../domain/digest.js";
import type { NewToken, Permissions, TokenRecord } from "../domain/model.js";
import { generateToken, maskToken, type TokenKind } from "../domain/token-format.js";
import { DEFAULT_TOKEN } from "../domain/token-rules.js";
import { maskImported, type ValueOrigin } from "../domain/token-value.js";
import type { Tx } from "../store/database.js";
import { insertToken } from "../store/queries/tokens.js";

export interface TokenSpec {
  name: string;
  description: string;
  kind: TokenKind;
  isDefault?: boolean;
  ownerUserId: string | null;
  createdBy: string | null;
  permissions: Permissions;
  expiresAt: Date | null;
  /** A caller-supplied value (Setup, CreateToken), already judged acceptable; generated when absent. */
  value?: string;
  /** Where `value` came from (token-value.ts acceptBroughtValue); GENERATED without a value. */
  valueOrigin?: ValueOrigin;
}

export interface IssuedToken {
  token: TokenRecord;
  value: string;
  /** The digest stored, under the current key (for the imported-value filter). */
  digest: Buffer;
}

/** A fresh value for `kind` (or the given one) and what the store keeps of it. */
export function mint(keyring: Keyring, kind: TokenKind, value = generateToken(kind), origin: ValueOrigin = "GENERATED") {
  const mask = origin === "IMPORTED" ? maskImported(value) : maskToken(value);
  return { value, digest: keyring.digest(value), keyId: keyring.currentKeyId, mask };
}

/** Inserts a token into the transaction's organization; a name clash is ALREADY_EXISTS (from the store). */
export async function issueToken(tx: Tx, keyring: Keyring, spec: TokenSpec): Promise<IssuedToken> {
  const origin = spec.value === undefined ? "GENERATED" : (spec.valueOrigin ?? "SUPPLIED");
  const m = mint(keyring, spec.kind, spec.value, origin);
  const row: NewToken = {
    id: randomUUID(),
    orgId: "",
    name: spec.name,
    description: spec.description,
    kind: spec.kind,
    isDefault: spec.isDefault ?? false,
    digest: m.digest,
    keyId: m.keyId,
    mask: m.mask,
    valueOrigin: origin,
    ownerUserId: spec.ownerUserId,
    createdBy: spec.createdBy,
    permissions: spec.permissions,
    expiresAt: spec.expiresAt,
  };
  const token = await insertToken(tx, row);
  return { token, value: m.value, digest: m.digest };
}

/** Every new organization gets an enabled ingestion token named `default`. */
export function defaultIngestionSpec(createdBy: string | null): TokenSpec {
  return {
    name: DEFAULT_TOKEN.name,
    description: DEFAULT_TOKEN.description,
    kind: "INGESTION",
    isDefault: true,
    ownerUserId: null,
    createdBy,
    permissions: {},
    expiresAt: null,
  };
}

/**
 * An ApplyManifest request read into the desired state the planner takes (domain/manifest), every
 * field checked by the rules the individual calls use (names, kinds, permissions, expiry), each
 * problem an INVALID_ARGUMENT naming the entry's manifest path. Never quotes a value.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { CreateTokenRequestSchema, type ApplyManifestRequest, type ManifestToken } from "../../gen/tessera/v1/token_admin_service_pb.js";
import { TesseraError, invalidArgument, isTesseraError } from "../../domain/errors.js";
import { SecretValue, type DesiredOrganization, type DesiredState, type DesiredToken, type Expiry } from "../../domain/manifest/desired.js";
import {
  validateBucketName,
  validateDescription,
  validateDisplayName,
  validateOrgIdentifier,
  validateUserName,
} from "../../domain/names.js";
import { DEFAULT_TOKEN, USER_BOUND_KINDS } from "../../domain/token-rules.js";
import { roleFromPb } from "../convert.js";
import { parseCreateToken } from "./token-spec.js";

/** The longest lifetime `expires_in` may give: what a date can still hold, many times over. */
const MAX_EXPIRES_IN_S = 100 * 365 * 24 * 3600;

/** Runs `check`; a domain error it throws is re-thrown with `path` in front of its message. */
function atPath<T>(path: string, check: () => T): T {
  try {
    return check();
  } catch (err) {
    throw withPath(path, err);
  }
}

/** A domain error with the manifest path in front of its message; anything else as it is. */
export function withPath(path: string, err: unknown): unknown {
  if (!isTesseraError(err)) return err;
  return new TesseraError(err.code, `${path}: ${err.publicMessage}`);
}

/**
 * A manifest path as the manifest reader builds them: field names and list indices,
 * `organizations[0].tokens[1]`. Errors put the path in front of their message, so anything else
 * (text a client chose) would be the server repeating its input.
 */
const MANIFEST_PATH = /^[a-z_]+(?:\[\d{1,9}\])*(?:\.[a-z_]+(?:\[\d{1,9}\])*)*$/;

function requirePath(path: string, what: string): string {
  if (path.length > 512 || !MANIFEST_PATH.test(path))
    throw invalidArgument(
      `every ${what} needs its manifest path: field names and [index] steps such as organizations[0].tokens[1], at most 512 characters`,
    );
  return path;
}

export function desiredFromRequest(req: ApplyManifestRequest, now: number): DesiredState {
  const users = req.users.map((u) => {
    const path = requirePath(u.path, "user");
    atPath(path, () => validateUserName(u.name));
    return { path, name: u.name, root: u.root };
  });
  const organizations = req.organizations.map((o): DesiredOrganization => {
    const path = requirePath(o.path, "organization");
    atPath(path, () => {
      validateOrgIdentifier(o.identifier);
      if (o.name !== "") validateDisplayName(o.name, "name");
      if (o.parent !== "") validateOrgIdentifier(o.parent);
      if (o.parent === "" && o.denyParentAccess) throw invalidArgument("deny_parent_access applies only to sub-organizations");
    });
    return {
      path,
      identifier: o.identifier,
      name: o.name === "" ? o.identifier : o.name,
      parent: o.parent === "" ? null : o.parent,
      parentAccess: !o.denyParentAccess,
      buckets: o.buckets.map((b) => {
        const bp = requirePath(b.path, "bucket");
        atPath(bp, () => {
          validateBucketName(b.name);
          validateDescription(b.description);
        });
        return { path: bp, name: b.name, description: b.description };
      }),
      members: o.members.map((m) => {
        const mp = requirePath(m.path, "member");
        const role = roleFromPb(m.role);
        atPath(mp, () => {
          validateUserName(m.user);
          if (role === undefined) throw invalidArgument("role must be ROLE_VIEWER, ROLE_EDITOR or ROLE_ADMIN");
        });
        return { path: mp, user: m.user, role: role! };
      }),
      tokens: o.tokens.map((t) => readToken(t, now)),
    };
  });
  return { users, organizations, valuesOut: undefined, positions: new Map() };
}

function readToken(t: ManifestToken, now: number): DesiredToken {
  const path = requirePath(t.path, "token");
  return atPath(path, () => {
    if (t.expireTime !== undefined && t.expiresIn !== undefined) throw invalidArgument("give expire_time or expires_in, not both");
    let expiry: Expiry = { kind: "never" };
    if (t.expiresIn !== undefined) {
      const s = Number(t.expiresIn.seconds);
      if (t.expiresIn.nanos !== 0 || s <= 0 || s > MAX_EXPIRES_IN_S) {
        throw invalidArgument(`expires_in must be a whole number of seconds between 1 and ${MAX_EXPIRES_IN_S}`);
      }
      expiry = { kind: "in", ms: s * 1000, text: durationText(s) };
    }
    const isDefault = t.name === DEFAULT_TOKEN.name;
    // The default token is the organization's own ingestion token: nothing of it but its
    // description can be declared, and its kind is INGESTION.
    const spec = parseCreateToken(
      create(CreateTokenRequestSchema, {
        name: t.name,
        description: t.description,
        kind: t.kind,
        ...(t.permissions && { permissions: t.permissions }),
        ...(t.expireTime !== undefined && { expireTime: t.expireTime }),
        ...(expiry.kind === "in" && { expireTime: timestampFromMs(now + expiry.ms) }),
      }),
      now,
    );
    if (t.expireTime !== undefined) expiry = { kind: "at", time: spec.expiresAt! };
    if (t.owner !== "") {
      if (!USER_BOUND_KINDS.includes(spec.kind))
        throw invalidArgument(`owner does not apply to ${spec.kind} tokens: they belong to the organization`);
      validateUserName(t.owner);
    }
    if (isDefault && (spec.kind !== "INGESTION" || Object.keys(spec.permissions).length > 0 || expiry.kind !== "never")) {
      throw invalidArgument(
        "the default token is an ingestion token with every permission and no expiry; only its description may be declared",
      );
    }
    const value = t.value === "" ? undefined : new SecretValue(t.value);
    return {
      path,
      name: spec.name,
      kind: spec.kind,
      description: spec.description,
      owner: t.owner === "" ? null : t.owner,
      permissions: spec.permissions,
      expiry,
      value: isDefault
        ? { from: "organization", save: t.valueSource !== "" }
        : { from: "supplied", value, source: t.valueSource === "" ? "supplied" : t.valueSource },
    };
  });
}

/** 90 days as "90d": the largest unit that divides it, as a manifest writes it. */
function durationText(s: number): string {
  for (const [unit, n] of [
    ["w", 604800],
    ["d", 86400],
    ["h", 3600],
    ["m", 60],
  ] as const) {
    if (s % n === 0) return `${s / n}${unit}`;
  }
  return `${s}s`;
}

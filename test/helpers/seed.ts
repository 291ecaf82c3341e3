/** Seeding through the public API, so tests exercise the same paths users do. */
import { randomBytes } from "node:crypto";
import { Role, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import type { Clients } from "./clients.js";

export interface SeededOrg {
  orgId: string;
  identifier: string;
  defaultTokenId: string;
  defaultTokenValue: string;
  adminUserId: string;
  /** An ALL_ACCESS token of an ADMIN member. */
  adminToken: string;
  adminTokenId: string;
}

export interface Instance {
  operatorToken: string;
  operatorUserId: string;
  orgId: string;
  identifier: string;
  bucketName: string;
  verifierToken: string;
}

/** Runs Setup and creates a VERIFIER token, as an ingestion fleet's operator would. */
export async function setupInstance(c: Clients, identifier = "acme"): Promise<Instance> {
  const s = await c.admin.setup({ userName: "root", organizationIdentifier: identifier, bucketName: "main" });
  const v = await c.admin.createToken({ name: "ingest-fleet", kind: TokenKind.VERIFIER }, s.tokenValue);
  return {
    operatorToken: s.tokenValue,
    operatorUserId: s.user!.id,
    orgId: s.organization!.id,
    identifier,
    bucketName: "main",
    verifierToken: v.value,
  };
}

/**
 * Default names: a counter (unique within the run) and a few random characters (so a name is
 * distinctive in a dump or a log, and unlike its neighbours), never the clock.
 */
const tag = (): string => randomBytes(3).toString("hex");

let counter = 0;

/** A new organization with an ADMIN user holding an ALL_ACCESS token. */
export async function createOrg(c: Clients, operatorToken: string, identifier = `org-${++counter}-${tag()}`): Promise<SeededOrg> {
  return withAdmin(c, operatorToken, identifier, await c.admin.createOrganization({ identifier }, operatorToken));
}

/** An organization just created (`o`), given an ADMIN user with an ALL_ACCESS token by the operator. */
export async function withAdmin(
  c: Clients,
  operatorToken: string,
  identifier: string,
  o: Awaited<ReturnType<Clients["admin"]["createOrganization"]>>,
): Promise<SeededOrg> {
  const orgId = o.organization!.id;
  const u = await c.admin.createUser({ name: `${identifier}-admin`, organizationId: orgId, role: Role.ADMIN }, operatorToken);
  const t = await c.admin.createToken(
    { organizationId: orgId, name: "admin-all", kind: TokenKind.ALL_ACCESS, userId: u.user!.id },
    operatorToken,
  );
  return {
    orgId,
    identifier,
    defaultTokenId: o.defaultToken!.id,
    defaultTokenValue: o.defaultTokenValue,
    adminUserId: u.user!.id,
    adminToken: t.value,
    adminTokenId: t.token!.id,
  };
}

let userCounter = 0;

/** A new user who is a member of `orgId` with `role`; returns its id. */
export async function addMember(
  c: Clients,
  callerToken: string,
  orgId: string,
  role: Role,
  name = `user-${++userCounter}-${tag()}`,
): Promise<string> {
  const u = await c.admin.createUser({ name, organizationId: orgId, role }, callerToken);
  return u.user!.id;
}

export interface IssuedToken {
  id: string;
  value: string;
}

let tokenCounter = 0;

/** Creates a token through the API and returns its id and value (the only time the value is seen). */
export async function issue(c: Clients, callerToken: string, req: Parameters<Clients["admin"]["createToken"]>[0]): Promise<IssuedToken> {
  const r = await c.admin.createToken({ name: `tok-${++tokenCounter}-${tag()}`, ...req }, callerToken);
  return { id: r.token!.id, value: r.value };
}

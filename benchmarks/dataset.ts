/**
 * What the benchmark verifies: an instance set up through the API (operator, VERIFIER and one
 * INGESTION token, as an operator would do it), plus many tokens inserted straight into the
 * tables as the owner role — the API would take hours for a million — with digests from the same
 * keyring the server uses, so they verify exactly like issued tokens.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import type { Keyring } from "../src/domain/digest.js";
import { generateToken, maskToken } from "../src/domain/token-format.js";
import { TokenKind } from "../src/gen/tessera/v1/resources_pb.js";
import { TokenAdminService } from "../src/gen/tessera/v1/token_admin_service_pb.js";
import { createGrpcClient } from "../src/wire/grpc-client.js";

export interface Instance {
  operatorToken: string;
  verifierToken: string;
  /** An INGESTION token created through the API. */
  ingestToken: string;
  /** The organization Setup created, which holds it. */
  organizationId: string;
}

export async function setupInstance(grpcPort: number, identifier: string): Promise<Instance> {
  const admin = createGrpcClient(TokenAdminService, `127.0.0.1:${grpcPort}`);
  try {
    const s = await admin.setup({ userName: "root", organizationIdentifier: identifier, bucketName: "main" });
    const auth = { metadata: { authorization: `Bearer ${s.tokenValue}` } };
    const v = await admin.createToken({ name: "bench-verifier", kind: TokenKind.VERIFIER }, auth);
    const i = await admin.createToken({ organizationId: s.organization!.id, name: "bench-ingest", kind: TokenKind.INGESTION }, auth);
    return { operatorToken: s.tokenValue, verifierToken: v.value, ingestToken: i.value, organizationId: s.organization!.id };
  } finally {
    admin.close();
  }
}

export interface BulkOptions {
  ownerUrl: string;
  keyring: Keyring;
  organizations: number;
  tokensPerOrganization: number;
  /** Organization identifiers are `<prefix>-<n>`. */
  prefix: string;
  onProgress?: (done: number, total: number) => void;
}

/** Inserts organizations and INGESTION tokens; returns the token values (the only copy). */
export async function insertTokens(o: BulkOptions): Promise<string[]> {
  const pool = new pg.Pool({ connectionString: o.ownerUrl, max: 4 });
  pool.on("error", () => undefined);
  try {
    const orgIds: string[] = [];
    for (let start = 0; start < o.organizations; start += 5000) {
      const ids: string[] = [];
      const idents: string[] = [];
      for (let n = start; n < Math.min(o.organizations, start + 5000); n++) {
        ids.push(randomUUID());
        idents.push(`${o.prefix}-${n}`);
      }
      await pool.query(
        `INSERT INTO organizations (id, identifier, name) SELECT id, ident, ident FROM unnest($1::uuid[], $2::text[]) AS x(id, ident)`,
        [ids, idents],
      );
      orgIds.push(...ids);
    }

    const total = o.organizations * o.tokensPerOrganization;
    const values: string[] = new Array<string>(total);
    const BATCH = 10_000;
    let done = 0;
    const batches: Array<[number, number]> = [];
    for (let start = 0; start < total; start += BATCH) batches.push([start, Math.min(total, start + BATCH)]);
    // A few batches at once: index maintenance in PostgreSQL, digests and token generation here.
    const worker = async (): Promise<void> => {
      for (let b = batches.shift(); b !== undefined; b = batches.shift()) {
        const [from, to] = b;
        const ids: string[] = [];
        const orgs: string[] = [];
        const names: string[] = [];
        const digests: Buffer[] = [];
        const masks: string[] = [];
        for (let k = from; k < to; k++) {
          const value = generateToken("INGESTION");
          values[k] = value;
          ids.push(randomUUID());
          // Token k belongs to organization k mod N: an organization's tokens are spread out.
          orgs.push(orgIds[k % o.organizations]!);
          names.push(`bulk-${k}`);
          digests.push(o.keyring.digest(value));
          masks.push(maskToken(value));
        }
        const c = await pool.connect();
        try {
          await c.query("SET synchronous_commit = off");
          await c.query(
            `INSERT INTO tokens (id, org_id, name, kind, digest, key_id, mask)
             SELECT id, org, name, 'INGESTION', digest, $6, mask
               FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::bytea[], $5::text[]) AS x(id, org, name, digest, mask)`,
            [ids, orgs, names, digests, masks, o.keyring.currentKeyId],
          );
        } finally {
          c.release();
        }
        done += to - from;
        o.onProgress?.(done, total);
      }
    };
    await Promise.all(Array.from({ length: 3 }, worker));
    // VACUUM as well as ANALYZE: left to itself, autovacuum would visit these freshly filled
    // tables a minute later, in the middle of a measurement.
    await pool.query("VACUUM (ANALYZE) organizations, tokens, token_digests");
    return values;
  } finally {
    await pool.end();
  }
}

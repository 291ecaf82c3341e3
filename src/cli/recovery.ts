/**
 * `tessera recovery create-operator`: a way back in when no operator token is known. It needs
 * what only the server's machine has — the owner connection (or the embedded data directory)
 * and the digest key — and mints the token through the database, not the API.
 *
 * It never creates a digest key: a token digested under a key the server does not hold would
 * never verify, so a missing key file is an error, not a reason to make a new one.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { stat } from "node:fs/promises";
import { keyringFromEnv, type Keyring } from "../domain/digest.js";
import { loadOrCreateKeyFile } from "../store/key-file.js";
import { loadConfig, type Config } from "../config.js";
import { mint } from "../services/token-issue.js";
import { AuditScope, systemActor } from "../services/audit/scope.js";
import { createAuditTrail } from "../services/audit/trail.js";
import { tokenFields, tokenTarget } from "../domain/audit/audit-fields.js";
import {
  connectEmbeddedOwner,
  createRecoveryOperatorToken,
  EmbeddedDataMissing,
  type OwnerConnection,
  type RecoveryOutcome,
} from "../store/recovery.js";
import { CliError, EXIT_OK, UsageError, bool, str, type Command, type Flags, type Group } from "./command.js";
import { clean, showSecret } from "./output.js";
import { secretFlag } from "./value-source.js";

/** --key-file, else TESSERA_DIGEST_KEYS (as the server prefers it), else the default key file. */
async function recoveryKeyring(flags: Flags, config: Config): Promise<Keyring> {
  if (str(flags, "key-file") === undefined && config.digestKeys !== undefined) return keyringFromEnv(config.digestKeys);
  try {
    await stat(config.keyFile);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    throw new CliError(
      `digest key file ${config.keyFile} does not exist. Recovery will not create one: a token digested under a new key ` +
        `would not verify on the server. Pass the server's key file with --key-file (or set TESSERA_DIGEST_KEYS).`,
    );
  }
  return loadOrCreateKeyFile(config.keyFile);
}

function explain(outcome: Extract<RecoveryOutcome, { ok: false }>): string {
  switch (outcome.problem) {
    case "not-migrated":
      return `the database holds no Tessera schema: start "tessera serve" once, then run "tessera setup"`;
    case "no-root-user":
      return `there is no root user to own an operator token: this instance has not been set up; run "tessera setup"`;
    case "user-not-found":
      return `there is no user named "${clean(outcome.userName ?? "")}"`;
    case "user-not-root":
      return `user "${clean(outcome.userName ?? "")}" is not a root user; operator tokens belong to root users`;
    case "no-admin-organization":
      return `root user "${clean(outcome.userName ?? "")}" is not an ADMIN of any organization, so there is nowhere to put the token`;
  }
}

/**
 * `recovery-20260131T120000Z-3f9a1c07`: when it ran, to the second, and 32 random bits, because
 * names are unique per organization and two runs in the same second must not clash (the store
 * also asks for another name if one ever does). Token names allow only [A-Za-z0-9_-]{1,256}.
 */
const recoveryName = (now: Date): string =>
  `recovery-${now
    .toISOString()
    .replace(/\.\d{3}Z$/, "Z")
    .replace(/[-:]/g, "")}-${randomBytes(4).toString("hex")}`;

const createOperator: Command = {
  name: "create-operator",
  summary: "Mint an operator token through the database (when no operator token is known)",
  usage: `Usage: tessera recovery create-operator [--data-dir D | --owner-database-url-file PATH] [--user NAME] [--key-file F] [--json]

  --data-dir D                the embedded default's data directory (default: $TESSERA_DATA_DIR or .tessera);
                              uses the running server's PostgreSQL, or starts it for the duration
  --owner-database-url URL    owner connection (role tessera_owner) of an external PostgreSQL
                              (default: $TESSERA_OWNER_DATABASE_URL)
  --owner-database-url-file PATH  the same, read from a file ("-": standard input), so no password is on the command line
  --user NAME                 root user to own the token (default: the oldest root user)
  --key-file F                the server's digest key file (default: <data-dir>/digest-keys.json)
  --json                      print {"id", "name", "value", "user", "organization"} as one JSON object

Run it on the server's machine, with the server's key. The value is printed once, alone on stdout.`,
  options: {
    "data-dir": { type: "string" },
    "owner-database-url": { type: "string" },
    "owner-database-url-file": { type: "string" },
    user: { type: "string" },
    "key-file": { type: "string" },
    json: { type: "boolean" },
  },
  async run(flags, ctx) {
    const dataDirFlag = str(flags, "data-dir");
    const ownerFlag = await secretFlag(flags, "owner-database-url", ctx.stdinIsTTY);
    if (dataDirFlag !== undefined && ownerFlag !== undefined)
      throw new UsageError("give either --data-dir or --owner-database-url, not both");
    const config = loadConfig({ "data-dir": dataDirFlag, "owner-database-url": ownerFlag, "key-file": str(flags, "key-file") }, ctx.env);
    const external = dataDirFlag === undefined ? config.ownerDatabaseUrl : undefined;
    if (external === undefined && dataDirFlag === undefined && config.databaseUrl !== undefined) {
      throw new UsageError(
        "DATABASE_URL is set, so the server uses an external PostgreSQL: pass its owner connection with --owner-database-url",
      );
    }
    const keyring = await recoveryKeyring(flags, config);

    let conn: OwnerConnection;
    if (external !== undefined) {
      conn = { ownerUrl: external, startedHere: false, close: async () => undefined };
    } else {
      try {
        conn = await connectEmbeddedOwner(config.dataDir, () =>
          ctx.err(`PostgreSQL is not running; starting the embedded cluster in ${config.dataDir} for the duration…`),
        );
      } catch (err) {
        if (err instanceof EmbeddedDataMissing)
          throw new CliError(`${err.message}. Pass --data-dir (the server's), or --owner-database-url for an external PostgreSQL`);
        throw err;
      }
    }

    const now = ctx.now?.() ?? new Date();
    const m = mint(keyring, "OPERATOR");
    let outcome: RecoveryOutcome;
    try {
      outcome = await createRecoveryOperatorToken(conn.ownerUrl, {
        ...(str(flags, "user") === undefined ? {} : { userName: str(flags, "user")! }),
        name: () => recoveryName(now),
        description: `Operator token minted by tessera recovery at ${now.toISOString()}`,
        material: { digest: m.digest, keyId: m.keyId, mask: m.mask },
        record: (tx, token) =>
          new AuditScope(createAuditTrail(keyring), systemActor("recovery"), {
            requestId: randomUUID(),
            peer: "local",
            userAgent: `tessera recovery on ${hostname()}`,
            rpc: "",
          }).record(tx, { action: "token.create", target: tokenTarget(token), after: tokenFields(token) }),
      });
    } catch (err) {
      throw new CliError(`recovery failed: ${(err as Error).message}`);
    } finally {
      await conn.close();
    }
    if (!outcome.ok) throw new CliError(explain(outcome));
    ctx.err(
      `Created operator token ${outcome.token.name} (id ${outcome.token.id}, ${outcome.token.mask}) for root user ` +
        `${clean(outcome.user.name)} in organization ${clean(outcome.org.identifier)}.`,
    );
    if (bool(flags, "json")) {
      ctx.out(
        JSON.stringify(
          {
            id: outcome.token.id,
            name: outcome.token.name,
            value: m.value,
            user: { id: outcome.user.id, name: outcome.user.name },
            organization: { id: outcome.org.id, identifier: outcome.org.identifier },
          },
          null,
          2,
        ),
      );
      ctx.err("Store this value safely (a password manager or secret store): it is shown only once and cannot be retrieved again.");
    } else showSecret(ctx, m.value);
    ctx.err(`Use it with --token-file or TESSERA_TOKEN, or save it as a profile: tessera config create NAME --host URL --token-file -`);
    return EXIT_OK;
  },
};

export const group: Group = {
  name: "recovery",
  summary: "Regain access when no operator token is known (run on the server's machine).",
  commands: [createOperator],
};

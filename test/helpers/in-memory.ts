/**
 * Tessera's two services in-process, behind Connect's in-memory transport: the middle level of
 * the test pyramid (issue 11, item 7). The real services over a real (fresh, migrated) database,
 * the real Authenticator and the real auth interceptor, and Connect clients whose calls run the
 * router's handlers, interceptors included, without a socket. A change to a service can be checked
 * in seconds; the transport suites (test/service, test/feed) still cover the listeners.
 *
 * The services come from src/app.ts `createServices`, the same function startTessera puts its
 * listeners in front of, so the two cannot drift apart.
 */
import type { DescService } from "@bufbuild/protobuf";
import { createClient, createRouterTransport, type ServiceImpl, type Transport } from "@connectrpc/connect";
import { createServices, type Services } from "../../src/app.js";
import { createKeyring, newKey, type Keyring } from "../../src/domain/digest.js";
import { loadConfig, type Config } from "../../src/config.js";
import { TokenAdminService } from "../../src/gen/tessera/v1/token_admin_service_pb.js";
import { TokenVerifyService } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { silentLog, type Log } from "../../src/log.js";
import type { Authed, Clients } from "./clients.js";
import { freshDatabase, type TestDatabase } from "./db.js";
import { setupInstance, type Instance } from "./seed.js";

/** What app.ts builds between "the database is migrated" and "bind the listeners", split by service. */
interface InMemoryServices extends Services {
  admin: ServiceImpl<typeof TokenAdminService>;
  verify: ServiceImpl<typeof TokenVerifyService>;
  hub: Services["deps"]["hub"];
}

/**
 * The services over `appUrl`, built by app.ts's own createServices (what startTessera puts its
 * listeners in front of). Migrations are the caller's business here: test databases are cloned
 * from a migrated template.
 */
async function createInMemoryServices(
  config: Config,
  opts: { appUrl: string; keyring: Keyring; log: Log; now: () => number; onQuery?: (() => void) | undefined },
): Promise<InMemoryServices> {
  const s = await createServices(config, opts);
  const impl = <D extends DescService>(desc: D): ServiceImpl<D> =>
    s.services.find((x) => x.desc === (desc as unknown))!.impl as ServiceImpl<D>;
  return { ...s, admin: impl(TokenAdminService), verify: impl(TokenVerifyService), hub: s.deps.hub };
}

/** Connect's in-memory transport over the services: the router runs their handlers and the interceptors. */
function createInMemoryTransport(s: InMemoryServices): Transport {
  return createRouterTransport(
    (router) => {
      router.service(TokenAdminService, s.admin);
      router.service(TokenVerifyService, s.verify);
    },
    { router: { interceptors: s.interceptors } },
  );
}

/** A Clients-shaped pair over `transport`; `authorization(token)` is the header each call sends. */
function clientsOver(name: string, transport: Transport, authorization: (token: string) => string): Clients {
  const wrap = <D extends DescService>(desc: D): Authed<D> => {
    const c = createClient(desc, transport) as unknown as Record<string, (req: unknown, opts?: unknown) => unknown>;
    const out: Record<string, unknown> = {};
    for (const m of desc.methods) {
      out[m.localName] = (req: unknown, token?: string) =>
        c[m.localName]!(req, token === undefined ? {} : { headers: { authorization: authorization(token) } });
    }
    return out as Authed<D>;
  };
  return { name, admin: wrap(TokenAdminService), verify: wrap(TokenVerifyService), close: () => undefined };
}

export interface InMemoryTessera {
  db: TestDatabase;
  keyring: Keyring;
  services: InMemoryServices;
  transport: Transport;
  /** Calls send `authorization: Bearer <token>`; works with the seed helpers (seed.ts). */
  c: Clients;
  /** Calls send the second argument as the whole `authorization` value (`Basic …`, garbage, …). */
  raw: Clients;
  /** Every log line, as JSON. */
  logs: string[];
  close(): Promise<void>;
}

export interface InMemoryOptions {
  now?: () => number;
  keyring?: Keyring;
  /** Changes the configuration (loadConfig's defaults, pool size 4, checkpoints every 50 ms). */
  configure?: (c: Config) => Config;
  /** Another instance's database (not dropped on close): several instances over one database. */
  db?: TestDatabase;
  /** Called on every Verify (and caller) database lookup. */
  onQuery?: () => void;
}

export async function startInMemoryTessera(opts: InMemoryOptions = {}): Promise<InMemoryTessera> {
  const db = opts.db ?? (await freshDatabase());
  const keyring = opts.keyring ?? createKeyring({ 1: newKey() }, 1);
  const logs: string[] = [];
  const log: Log = (event, fields) => {
    logs.push(JSON.stringify({ event, ...fields }));
    silentLog(event, fields);
  };
  const defaults = loadConfig({}, {});
  // Checkpoints every 50 ms rather than every second: a test waiting for one waits that long.
  const config = { ...defaults, poolSize: 4, feed: { ...defaults.feed, checkpointMs: 50 } };
  let services: InMemoryServices;
  try {
    services = await createInMemoryServices(opts.configure ? opts.configure(config) : config, {
      appUrl: db.appUrl,
      keyring,
      log,
      now: opts.now ?? Date.now,
      onQuery: opts.onQuery,
    });
  } catch (err) {
    if (opts.db === undefined) await db.drop();
    throw err;
  }
  const transport = createInMemoryTransport(services);
  return {
    db,
    keyring,
    services,
    transport,
    c: clientsOver("Connect in memory", transport, (t) => `Bearer ${t}`),
    raw: clientsOver("Connect in memory, raw authorization", transport, (v) => v),
    logs,
    async close() {
      await services.close();
      if (opts.db === undefined) await db.drop();
    },
  };
}

export interface InMemoryFixture {
  t: InMemoryTessera;
  /** Setup's operator, organization and bucket, and a VERIFIER token (undefined with `setup: false`). */
  inst: Instance;
}

/**
 * Mocha hooks for a test file: an in-memory Tessera on a fresh database, Setup done unless
 * `setup: false`. After the file, everything is closed and the database dropped; the file fails
 * if any call was answered INTERNAL (which only ever means a bug).
 */
export function useInMemoryTessera(opts: InMemoryOptions & { setup?: boolean } = {}): InMemoryFixture {
  const f = {} as InMemoryFixture;
  before(async () => {
    f.t = await startInMemoryTessera(opts);
    if (opts.setup !== false) f.inst = await setupInstance(f.t.c);
  });
  after(async () => {
    const internal = f.t?.logs.filter((l) => l.includes('"event":"rpc_internal_error"')) ?? [];
    await f.t?.close();
    if (internal.length > 0) throw new Error(`calls answered INTERNAL: ${internal.join("\n")}`);
  });
  return f;
}

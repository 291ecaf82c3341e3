/**
 * A scripted TokenVerifyService on a real grpc-js server: each test decides what Verify answers
 * and what every WatchRevocations stream sends and how it ends. For the worker client's edge
 * cases that a real server cannot be made to produce on demand (an event landing while a Verify
 * is in flight, RESOURCE_EXHAUSTED, a replay after a stale period).
 */
import * as grpc from "@grpc/grpc-js";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  TokenVerifyService,
  VerifyResponseSchema,
  VerifyStatus,
  RevocationReason,
  type VerifyRequest,
  type WatchRevocationsRequest,
  type WatchRevocationsResponseSchema,
} from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { grpcServiceDefinition } from "../../src/wire/grpc-codec.js";
import { PATIENCE_MS } from "../helpers/wait.js";

/** The fields of a VerifyResponse a script sets (plain data; made a message on the way out). */
export interface VerifyInit {
  allowed?: boolean;
  status?: VerifyStatus;
  principal?: { tokenId?: string; organizationId?: string; organizationIdentifier?: string };
  expireTime?: { seconds: bigint; nanos: number };
  cacheTtl?: { seconds: bigint; nanos: number };
  cursor?: string;
  newerValueExists?: boolean;
  valueExpireTime?: { seconds: bigint; nanos: number };
}
type WatchItem = MessageInitShape<typeof WatchRevocationsResponseSchema>;

class Watch {
  cancelled = false;
  readonly authorization: string;
  constructor(
    readonly afterCursor: string,
    private readonly call: grpc.ServerWritableStream<WatchRevocationsRequest, unknown>,
  ) {
    this.authorization = String(call.metadata.get("authorization")[0] ?? "");
    call.on("cancelled", () => (this.cancelled = true));
  }
  checkpoint(cursor: string): void {
    this.send({ item: { case: "checkpoint", value: { cursor } } });
  }
  event(tokenId: string, cursor: string, reason: RevocationReason = RevocationReason.DISABLED): void {
    this.send({ item: { case: "event", value: { tokenId, cursor, reason, organizationId: "00000000-0000-0000-0000-000000000001" } } });
  }
  send(item: WatchItem): void {
    if (!this.cancelled) this.call.write(item);
  }
  fail(code: grpc.status, details = "scripted"): void {
    this.call.emit("error", { code, details, metadata: new grpc.Metadata() });
  }
  end(): void {
    this.call.end();
  }
}

export interface ScriptedServer {
  port: number;
  address: string;
  /** Every WatchRevocations call, in order. */
  watches: Watch[];
  /** Every Verify request, with its authorization header. */
  verifies: Array<{ request: VerifyRequest; authorization: string }>;
  /** What Verify answers; throw `{ code }` for an RPC error. Defaults to VALID for token "t1". */
  onVerify: (request: VerifyRequest) => VerifyInit | Promise<VerifyInit>;
  /** Called for each new stream; by default it sends a checkpoint `aaaaaaaa.1.0` at once. */
  onWatch: (watch: Watch) => void;
  /** Resolves when the n-th stream (1-based) has been opened. */
  nthWatch(n: number, timeoutMs?: number): Promise<Watch>;
  close(): Promise<void>;
}

const FEED = "aaaaaaaa";
export const cursorAt = (id: number, xid = 100): string => `${FEED}.${xid}.${id}`;

export function allowed(tokenId: string, extra: Partial<VerifyInit> = {}): VerifyInit {
  return {
    allowed: true,
    status: VerifyStatus.VALID,
    principal: { tokenId, organizationId: "o", organizationIdentifier: "acme" },
    ...extra,
  };
}

export function refused(status: VerifyStatus, tokenId?: string): VerifyInit {
  return { allowed: false, status, ...(tokenId !== undefined && { principal: { tokenId } }) };
}

export async function startScriptedServer(): Promise<ScriptedServer> {
  const server = new grpc.Server();
  const waiters: Array<() => void> = [];
  const s: ScriptedServer = {
    port: 0,
    address: "",
    watches: [],
    verifies: [],
    onVerify: () => allowed("t1"),
    onWatch: (w) => w.checkpoint(cursorAt(0)),
    async nthWatch(n, timeoutMs = PATIENCE_MS) {
      const deadline = Date.now() + timeoutMs;
      while (s.watches.length < n) {
        if (Date.now() > deadline) throw new Error(`stream #${n} was never opened (${s.watches.length} so far)`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 20);
        });
      }
      return s.watches[n - 1]!;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        resolve();
      }),
  };
  const def = grpcServiceDefinition(TokenVerifyService);
  server.addService(def, {
    Verify: (call: grpc.ServerUnaryCall<VerifyRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      s.verifies.push({ request: call.request, authorization: String(call.metadata.get("authorization")[0] ?? "") });
      Promise.resolve()
        .then(() => s.onVerify(call.request))
        .then(
          (r) => cb(null, create(VerifyResponseSchema, r as MessageInitShape<typeof VerifyResponseSchema>)),
          (err: { code?: number; message?: string }) => cb({ code: err.code ?? grpc.status.INTERNAL, details: err.message ?? "scripted" }),
        );
    },
    WatchRevocations: (call: grpc.ServerWritableStream<WatchRevocationsRequest, unknown>) => {
      const w = new Watch(call.request.afterCursor, call);
      s.watches.push(w);
      for (const r of waiters.splice(0)) r();
      s.onWatch(w);
    },
  });
  s.port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
  s.address = `127.0.0.1:${s.port}`;
  return s;
}

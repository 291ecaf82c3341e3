// The HTTP listener's edge: authenticate once per call and map every error to a public one.
//
// connect-node runs this around each call (Connect, gRPC and gRPC-web alike). It reads the
// `authorization` header, resolves it with the shared Authenticator and leaves the caller under
// kCaller for the service. It is also where service errors meet toConnectError: Connect would
// otherwise send a plain Error's message to the client as Code.Unknown. For server streams the
// error arrives while the response is iterated, so the message iterable is wrapped too.
// The grpc-js twin of this file is grpc-adapter.ts.

import { ConnectError, createContextKey, type Interceptor, type StreamResponse } from "@connectrpc/connect";
import { severalCredentials } from "../services/authenticate.js";
import { kCaller, type Authenticator, type Caller } from "../services/caller.js";
import { kPeer, type AuthRefusal } from "../services/request-info.js";
import type { Log } from "../log.js";
import { toConnectError } from "./errors.js";
import { GRPC_CANCELLED, type RpcMetrics, type RpcRecorder } from "./rpc-metrics.js";
import type { UnavailableLog } from "./unavailable-log.js";

/** Set by the HTTP listener when the request's raw headers hold more than one `authorization`. */
export const kSeveralCredentials = createContextKey(false, { description: "several authorization headers" });

export interface AuthInterceptorOptions {
  /** Receives the causes of internal errors. */
  log?: Log | undefined;
  /** Counts UNAVAILABLE answers (see unavailable-log.ts). */
  unavailable?: UnavailableLog | undefined;
  /** Told of every credential refused (the audit trail records the admin API's). */
  onAuthRefused?: ((r: AuthRefusal) => void) | undefined;
  /** Per-RPC counters and latencies (see rpc-metrics.ts). */
  rpcMetrics?: RpcMetrics | undefined;
}

export function createAuthInterceptor(authenticate: Authenticator, options: AuthInterceptorOptions = {}): Interceptor {
  const { log, unavailable, onAuthRefused, rpcMetrics } = options;
  return (next) => async (req) => {
    const recorder = rpcMetrics?.(req.method);
    const started = recorder?.start() ?? 0;
    const requestId = recorder?.log?.begin(
      (name) => req.header.get(name),
      (name, value) => req.header.set(name, value),
    );
    let caller: Caller | undefined;
    try {
      try {
        if (req.contextValues.get(kSeveralCredentials)) throw severalCredentials();
        caller = await authenticate(req.header.get("authorization") ?? undefined);
      } catch (err) {
        onAuthRefused?.({
          err,
          rpc: `/${req.service.typeName}/${req.method.name}`,
          header: (name) => req.header.get(name),
          peer: req.contextValues.get(kPeer),
        });
        throw err;
      }
      req.contextValues.set(kCaller, caller);
      const res = await next(req);
      if (!res.stream) {
        recorder?.end(started, 0);
        if (requestId !== undefined) recorder?.log?.end(requestId, started, 0, caller);
        return res;
      }
      const logEnd = requestId === undefined ? undefined : (code: number) => recorder?.log?.end(requestId, started, code, caller);
      return { ...res, message: mapStreamErrors(res, req.signal, log, unavailable, recorder, started, logEnd) };
    } catch (err) {
      const mapped = toConnectError(err, { log, unavailable, procedure: `/${req.service.typeName}/${req.method.name}` });
      recorder?.end(started, mapped.code);
      if (requestId !== undefined) recorder?.log?.end(requestId, started, mapped.code, caller);
      throw mapped;
    }
  };
}

async function* mapStreamErrors<T>(
  res: StreamResponse,
  signal: AbortSignal,
  log: Log | undefined,
  unavailable: UnavailableLog | undefined,
  recorder: RpcRecorder | undefined,
  started: number,
  logEnd: ((code: number) => void) | undefined,
): AsyncGenerator<T> {
  // Connect codes are gRPC status numbers; a stream the client leaves ends CANCELLED.
  let code = 0;
  try {
    yield* res.message as AsyncIterable<T>;
  } catch (err) {
    code = GRPC_CANCELLED;
    // A client that leaves mid-stream makes the next write fail ("Cannot call write after a
    // stream was destroyed"), and connect-node hands that failure back into the stream: nobody
    // is there to receive an answer, and nothing went wrong here.
    if (isClientGone(err)) throw err;
    // A deadline that passed (`grpc-timeout: 0n`) or a cancelled call aborts the signal with
    // connect-node's own DEADLINE_EXCEEDED or CANCELED, and that is the answer, whatever the
    // handler threw meanwhile; the handler's own error left unmapped would be INTERNAL.
    if (signal.aborted && signal.reason instanceof ConnectError) {
      code = signal.reason.code;
      throw signal.reason;
    }
    const mapped = toConnectError(err, { log, unavailable, procedure: `/${res.service.typeName}/${res.method.name}` });
    code = mapped.code;
    throw mapped;
  } finally {
    // Also reached when connect-node stops iterating (return()) because the client went away.
    if (signal.aborted && code === 0) code = GRPC_CANCELLED;
    recorder?.end(started, code);
    logEnd?.(code);
  }
}

const CLIENT_GONE = new Set([
  "ERR_STREAM_DESTROYED",
  "ERR_STREAM_WRITE_AFTER_END",
  "EPIPE",
  "ECONNRESET",
  "ERR_HTTP2_INVALID_STREAM",
  "ERR_HTTP2_STREAM_ERROR",
]);

function isClientGone(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && CLIENT_GONE.has(code);
}

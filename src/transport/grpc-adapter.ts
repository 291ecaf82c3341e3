// Serves a Connect ServiceImpl on grpc-js: the gRPC listener's twin of auth-interceptor.ts.
//
// Each service is written once against Connect's ServiceImpl/HandlerContext. Here every call
// reads the `authorization` metadata, runs the shared Authenticator, hands the caller to the
// service under kCaller and maps whatever is thrown with the same toConnectError as the HTTP
// listener (Connect codes are gRPC status numbers).
//
// Verify is the hot path, so a call costs one context object and the promises of an async
// function: the HandlerContext builds its Headers, AbortController and response metadata only
// when the service touches them (Connect's createHandlerContext builds three Headers, two
// AbortControllers and their listeners on every call).

import * as grpc from "@grpc/grpc-js";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextValues,
  createServiceImplSpec,
  type ContextValues,
  type HandlerContext,
  type ServiceImpl,
} from "@connectrpc/connect";
import { severalCredentials } from "../services/authenticate.js";
import { kCaller, type Authenticator, type Caller } from "../services/caller.js";
import { kPeer, type AuthRefusal } from "../services/request-info.js";
import type { Log } from "../log.js";
import { toGrpcStatus, type ErrorMappingOptions } from "./errors.js";
import type { UnavailableLog } from "./unavailable-log.js";
import { GRPC_CANCELLED, type RpcMetrics, type RpcRecorder } from "./rpc-metrics.js";
import { MALFORMED, grpcPath, grpcServiceDefinition } from "../wire/grpc-codec.js";

export { createGrpcClient, type GrpcClient } from "../wire/grpc-client.js";

export interface GrpcServiceOptions {
  authenticate: Authenticator;
  log?: Log | undefined;
  /** Counts UNAVAILABLE answers (see unavailable-log.ts). */
  unavailable?: UnavailableLog | undefined;
  /** Told of every credential refused (the audit trail records the admin API's). */
  onAuthRefused?: ((r: AuthRefusal) => void) | undefined;
  /** Per-RPC counters and latencies (see rpc-metrics.ts). */
  rpcMetrics?: RpcMetrics | undefined;
}

export interface GrpcService {
  definition: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation;
}

type AnyImpl = (request: unknown, ctx: HandlerContext) => unknown;

/** What every call of one method shares, built once. */
interface MethodEntry {
  readonly method: DescMethod;
  readonly path: string;
  readonly impl: AnyImpl;
  readonly authenticate: Authenticator;
  readonly onAuthRefused: ((r: AuthRefusal) => void) | undefined;
  readonly mapping: ErrorMappingOptions;
  readonly recorder: RpcRecorder;
}

/** Records nothing, for a service served without metrics. */
const NO_RECORDER: RpcRecorder = { start: () => 0, end: () => {}, log: undefined };

const MALFORMED_ERROR = new ConnectError("request is not a valid protobuf message", Code.InvalidArgument);

export function createGrpcService<D extends DescService>(desc: D, impl: Partial<ServiceImpl<D>>, options: GrpcServiceOptions): GrpcService {
  // Binds the impl's methods and fills missing ones with an Unimplemented error, as Connect does.
  const spec = createServiceImplSpec(desc, impl);
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const method of desc.methods) {
    const path = grpcPath(method);
    const entry: MethodEntry = {
      method,
      path,
      impl: spec.methods[method.localName]!.impl as AnyImpl,
      authenticate: options.authenticate,
      onAuthRefused: options.onAuthRefused,
      mapping: { log: options.log, unavailable: options.unavailable, procedure: path },
      recorder: options.rpcMetrics?.(method) ?? NO_RECORDER,
    };
    switch (method.methodKind) {
      case "unary":
        implementation[method.name] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
          void serveUnary(entry, call, callback);
        };
        break;
      case "server_streaming":
        implementation[method.name] = (call: grpc.ServerWritableStream<unknown, unknown>) => {
          void serveServerStream(entry, call);
        };
        break;
      default:
        throw new Error(`${path}: ${method.methodKind} methods are not supported by the grpc-js adapter`);
    }
  }
  return { definition: grpcServiceDefinition(desc), implementation };
}

async function serveUnary(
  entry: MethodEntry,
  call: grpc.ServerUnaryCall<unknown, unknown>,
  callback: grpc.sendUnaryData<unknown>,
): Promise<void> {
  const started = entry.recorder.start();
  const requestId = beginLog(entry, call);
  let ctx: GrpcHandlerContext | undefined;
  let caller: Caller | undefined;
  let response: unknown;
  try {
    if (call.request === MALFORMED) throw MALFORMED_ERROR;
    caller = await authenticateCall(entry, call);
    ctx = new GrpcHandlerContext(entry, call, caller);
    response = await entry.impl(call.request, ctx);
    ctx.sendHeader();
  } catch (err) {
    const status = toGrpcStatus(err, entry.mapping);
    callback({ ...status, metadata: ctx?.trailer() });
    entry.recorder.end(started, status.code);
    if (requestId !== undefined) entry.recorder.log?.end(requestId, started, status.code, caller);
    ctx?.done();
    return;
  }
  callback(null, response, ctx.trailer());
  entry.recorder.end(started, 0);
  if (requestId !== undefined) entry.recorder.log?.end(requestId, started, 0, caller);
  ctx.done();
}

/** The call's request id when its method is logged (and the id set in its metadata), else undefined. */
function beginLog(
  entry: MethodEntry,
  call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>,
): string | undefined {
  return entry.recorder.log?.begin(
    (name) => firstValue(call.metadata, name),
    (name, value) => call.metadata.set(name, value),
  );
}

async function serveServerStream(entry: MethodEntry, call: grpc.ServerWritableStream<unknown, unknown>): Promise<void> {
  const started = entry.recorder.start();
  const requestId = beginLog(entry, call);
  let code = 0;
  let ctx: GrpcHandlerContext | undefined;
  let caller: Caller | undefined;
  try {
    if (call.request === MALFORMED) throw MALFORMED_ERROR;
    caller = await authenticateCall(entry, call);
    ctx = new GrpcHandlerContext(entry, call, caller);
    const messages = entry.impl(call.request, ctx) as AsyncIterable<unknown>;
    // Breaking out of for-await calls return() on the impl's iterator, so it stops and cleans up;
    // a generator waiting for its next item is woken by ctx.signal, which aborts on cancel.
    for await (const message of messages) {
      if (call.cancelled) break;
      ctx.sendHeader();
      if (!call.write(message)) await drained(call);
      if (call.cancelled) break;
    }
    if (!call.cancelled) {
      ctx.sendHeader();
      call.end(ctx.trailer());
    }
  } catch (err) {
    const status = toGrpcStatus(err, entry.mapping);
    code = status.code;
    // ServerWritableStream turns an 'error' event into the call's final status.
    if (!call.cancelled) call.emit("error", { ...status, metadata: ctx?.trailer() });
  } finally {
    const final = call.cancelled ? GRPC_CANCELLED : code;
    entry.recorder.end(started, final);
    if (requestId !== undefined) entry.recorder.log?.end(requestId, started, final, caller);
    ctx?.done();
  }
}

/** Resolves when the client has room for more, or is gone. */
function drained(call: grpc.ServerWritableStream<unknown, unknown>): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      call.off("drain", done);
      call.off("cancelled", done);
      call.off("close", done);
      resolve();
    };
    call.on("drain", done);
    call.on("cancelled", done);
    call.on("close", done);
  });
}

async function authenticateCall(
  entry: MethodEntry,
  call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>,
): Promise<Caller | undefined> {
  try {
    return await entry.authenticate(authorization(call.metadata));
  } catch (err) {
    entry.onAuthRefused?.({ err, rpc: entry.path, header: (name) => firstValue(call.metadata, name), peer: call });
    throw err;
  }
}

function firstValue(metadata: grpc.Metadata, name: string): string | undefined {
  const v = metadata.get(name)[0];
  return typeof v === "string" ? v : undefined;
}

/** The single value of the `authorization` metadata; several are refused (see grpc-stream-gate.ts). */
function authorization(metadata: grpc.Metadata): string | undefined {
  const values = metadata.get("authorization");
  if (values.length === 0) return undefined;
  if (values.length === 1) return String(values[0]);
  throw severalCredentials();
}

/** Connect's HandlerContext over a grpc-js call, with everything costly built on first use. */
class GrpcHandlerContext implements HandlerContext {
  readonly values: ContextValues;
  private controller: AbortController | undefined;
  private onCancel: (() => void) | undefined;
  private reqHeader: Headers | undefined;
  private resHeader: Headers | undefined;
  private resTrailer: Headers | undefined;
  private headerSent = false;

  constructor(
    private readonly entry: MethodEntry,
    private readonly call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>,
    caller: Caller | undefined,
  ) {
    // The call itself answers getPeer(): the audit trail asks only when it records something.
    this.values = createContextValues().set(kCaller, caller).set(kPeer, call);
  }

  get method(): DescMethod {
    return this.entry.method;
  }
  get service(): DescService {
    return this.entry.method.parent;
  }
  get protocolName(): string {
    return "grpc";
  }
  get requestMethod(): string {
    return "POST";
  }
  get url(): string {
    return this.entry.path;
  }

  /** Aborts when the client cancels, the deadline passes, or the call ends. */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      const controller = new AbortController();
      this.controller = controller;
      if (this.call.cancelled) {
        controller.abort(new ConnectError("operation canceled", Code.Canceled));
      } else {
        this.onCancel = () => controller.abort(new ConnectError("operation canceled", Code.Canceled));
        this.call.once("cancelled", this.onCancel);
      }
    }
    return this.controller.signal;
  }

  timeoutMs(): number | undefined {
    const deadline = this.call.getDeadline();
    const at = deadline instanceof Date ? deadline.getTime() : deadline;
    return Number.isFinite(at) ? at - Date.now() : undefined;
  }

  get requestHeader(): Headers {
    return (this.reqHeader ??= metadataToHeaders(this.call.metadata));
  }
  get responseHeader(): Headers {
    return (this.resHeader ??= new Headers());
  }
  get responseTrailer(): Headers {
    return (this.resTrailer ??= new Headers());
  }

  /** Sends response headers the service set, once, before the first message. */
  sendHeader(): void {
    if (this.headerSent) return;
    this.headerSent = true;
    if (this.resHeader !== undefined) this.call.sendMetadata(headersToMetadata(this.resHeader));
  }

  trailer(): grpc.Metadata | undefined {
    return this.resTrailer === undefined ? undefined : headersToMetadata(this.resTrailer);
  }

  /** Releases the cancel listener and tells anything still holding the signal that the call is over. */
  done(): void {
    if (this.onCancel !== undefined) this.call.off("cancelled", this.onCancel);
    this.controller?.abort(new ConnectError("call completed", Code.Canceled));
  }
}

function metadataToHeaders(metadata: grpc.Metadata): Headers {
  const headers = new Headers();
  for (const [key, values] of Object.entries(metadata.toJSON())) {
    for (const v of values) headers.append(key, typeof v === "string" ? v : v.toString("base64"));
  }
  return headers;
}

function headersToMetadata(headers: Headers): grpc.Metadata {
  const metadata = new grpc.Metadata();
  headers.forEach((value, key) => {
    if (key.endsWith("-bin")) metadata.add(key, Buffer.from(value, "base64"));
    else metadata.add(key, value);
  });
  return metadata;
}

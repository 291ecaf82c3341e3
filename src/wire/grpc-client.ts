// A small typed grpc-js client over the same protobuf-es descriptors the server uses.
//
// Built on grpc.makeGenericClientConstructor with grpc-codec's definitions, so nothing is loaded
// from .proto files. Unary methods return promises, server streams async iterables; failures
// reject with a ConnectError (same code numbers as gRPC), so tests and the worker client handle
// errors from this client and from Connect transports alike.

import * as grpc from "@grpc/grpc-js";
import type { DescMethodServerStreaming, DescMethodUnary, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { ConnectError, type Code } from "@connectrpc/connect";
import { grpcServiceDefinition } from "./grpc-codec.js";

export interface GrpcClientOptions {
  /** Defaults to insecure (plaintext) credentials. */
  credentials?: grpc.ChannelCredentials;
  /** grpc-js channel options, e.g. `grpc.max_receive_message_length`. */
  channelOptions?: grpc.ChannelOptions;
}

interface GrpcCallOptions {
  /** Request metadata; a record is the common case (`{ authorization: 'Bearer …' }`). */
  metadata?: grpc.Metadata | Record<string, string>;
  deadline?: grpc.Deadline;
  /** Cancels the call when aborted. */
  signal?: AbortSignal;
}

type GrpcMethod<M> =
  M extends DescMethodUnary<infer I, infer O>
    ? (request: MessageInitShape<I>, options?: GrpcCallOptions) => Promise<MessageShape<O>>
    : M extends DescMethodServerStreaming<infer I, infer O>
      ? (request: MessageInitShape<I>, options?: GrpcCallOptions) => AsyncIterable<MessageShape<O>>
      : never;

export type GrpcClient<D extends DescService> = {
  [P in keyof D["method"]]: GrpcMethod<D["method"][P]>;
} & {
  /** The underlying grpc-js client. */
  readonly raw: grpc.Client;
  close(): void;
};

export function createGrpcClient<D extends DescService>(desc: D, address: string, options: GrpcClientOptions = {}): GrpcClient<D> {
  const definition = grpcServiceDefinition(desc);
  const Ctor = grpc.makeGenericClientConstructor(definition, desc.typeName);
  const raw = new Ctor(address, options.credentials ?? grpc.credentials.createInsecure(), options.channelOptions);
  const client: Record<string, unknown> = { raw, close: () => raw.close() };
  for (const method of desc.methods) {
    if (method.localName in client) throw new Error(`${desc.typeName}.${method.name} clashes with GrpcClient.${method.localName}`);
    const def = definition[method.name]!;
    if (method.methodKind === "unary") {
      client[method.localName] = (request: unknown, opts?: GrpcCallOptions) =>
        new Promise((resolve, reject) => {
          const call = raw.makeUnaryRequest(
            def.path,
            def.requestSerialize,
            def.responseDeserialize,
            request,
            toMetadata(opts?.metadata),
            callOptions(opts),
            (err, value) => (err ? reject(fromServiceError(err)) : resolve(value)),
          );
          cancelOnAbort(opts?.signal, call);
        });
    } else if (method.methodKind === "server_streaming") {
      client[method.localName] = (request: unknown, opts?: GrpcCallOptions) =>
        serverStream(
          raw.makeServerStreamRequest(
            def.path,
            def.requestSerialize,
            def.responseDeserialize,
            request,
            toMetadata(opts?.metadata),
            callOptions(opts),
          ),
          opts?.signal,
        );
    }
  }
  return client as GrpcClient<D>;
}

async function* serverStream(call: grpc.ClientReadableStream<unknown>, signal: AbortSignal | undefined): AsyncGenerator<unknown> {
  cancelOnAbort(signal, call);
  let ended = false;
  try {
    for await (const message of call) yield message;
    ended = true;
  } catch (err) {
    ended = true;
    throw fromServiceError(err);
  } finally {
    // The consumer stopped early: tell the server instead of leaving the stream open.
    if (!ended) call.cancel();
  }
}

function cancelOnAbort(signal: AbortSignal | undefined, call: { cancel(): void }): void {
  if (signal === undefined) return;
  if (signal.aborted) call.cancel();
  else signal.addEventListener("abort", () => call.cancel(), { once: true });
}

function toMetadata(input: GrpcCallOptions["metadata"]): grpc.Metadata {
  if (input instanceof grpc.Metadata) return input;
  const metadata = new grpc.Metadata();
  if (input !== undefined) for (const [k, v] of Object.entries(input)) metadata.set(k, v);
  return metadata;
}

function callOptions(opts: GrpcCallOptions | undefined): grpc.CallOptions {
  return opts?.deadline === undefined ? {} : { deadline: opts.deadline };
}

function fromServiceError(err: unknown): ConnectError {
  const e = err as Partial<grpc.ServiceError>;
  if (typeof e.code !== "number") return ConnectError.from(err);
  const metadata = new Headers();
  for (const [k, vs] of Object.entries(e.metadata?.toJSON() ?? {})) {
    for (const v of vs) metadata.append(k, typeof v === "string" ? v : v.toString("base64"));
  }
  return new ConnectError(e.details ?? "", e.code as number as Code, metadata, undefined, err);
}

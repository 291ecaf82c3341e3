// The gRPC listener: grpc-js serving the Connect service implementations, plus the two services
// operators and tools expect on a gRPC port: grpc.health.v1 and server reflection.
//
// Health starts NOT_SERVING for the server ('') and every service; whoever starts the process
// flips them to SERVING once the database is reachable (health.setStatus), and close() flips them
// back so load balancers drain before the listener goes. Reflection is fed the same protobuf-es
// descriptors the code was generated from, so it can never disagree with what is served.

import * as grpc from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";
import { HealthImplementation, type ServingStatusMap } from "grpc-health-check";
import { toBinary, type DescFile, type DescService } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { Authenticator } from "../services/caller.js";
import type { Log } from "../log.js";
import type { UnavailableLog } from "./unavailable-log.js";
import { createGrpcService } from "./grpc-adapter.js";
import type { RpcMetrics } from "./rpc-metrics.js";
import { gateGrpcStreams } from "./grpc-stream-gate.js";
import type { AuthRefusal } from "../services/request-info.js";
import { HEALTH_FILE_NAME, healthFileDescriptor } from "./health-descriptor.js";

const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

export interface GrpcServerOptions {
  /** Defaults to 0.0.0.0. */
  host?: string;
  /** 0 picks a free port; the bound one is returned. */
  port: number;
  /** Each service once; `impl` is its Connect ServiceImpl. */
  services: Array<{ desc: DescService; impl: object }>;
  authenticate: Authenticator;
  log?: Log | undefined;
  /** Counts UNAVAILABLE answers (see unavailable-log.ts). */
  unavailable?: UnavailableLog | undefined;
  /** Told of every credential refused (the audit trail records the admin API's). */
  onAuthRefused?: ((r: AuthRefusal) => void) | undefined;
  /** Per-RPC counters and latencies (see rpc-metrics.ts). */
  rpcMetrics?: RpcMetrics | undefined;
  /** Largest request and response; bigger requests fail with RESOURCE_EXHAUSTED. 4 MiB default. */
  maxMessageBytes?: number;
  /** How long close() waits for calls in flight before cutting them. 2 s default. */
  shutdownGraceMs?: number;
}

export interface GrpcServer {
  port: number;
  health: HealthImplementation;
  close(): Promise<void>;
}

export async function startGrpcServer(opts: GrpcServerOptions): Promise<GrpcServer> {
  const maxBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  // channelz stays on although nothing serves it: grpc-js 1.14's forceShutdown only destroys the
  // sessions channelz tracks, so without it close() would wait on any client holding a stream open.
  const server = new grpc.Server({
    "grpc.max_receive_message_length": maxBytes,
    "grpc.max_send_message_length": maxBytes,
  });

  const statuses: ServingStatusMap = { "": "NOT_SERVING" };
  for (const { desc, impl } of opts.services) {
    const svc = createGrpcService(desc, impl as Partial<ServiceImpl<DescService>>, {
      authenticate: opts.authenticate,
      log: opts.log,
      unavailable: opts.unavailable,
      onAuthRefused: opts.onAuthRefused,
      rpcMetrics: opts.rpcMetrics,
    });
    server.addService(svc.definition, svc.implementation);
    statuses[desc.typeName] = "NOT_SERVING";
  }
  const health = new HealthImplementation(statuses);
  health.addToServer(server);
  new ReflectionService(reflectionPackage(opts.services.map((s) => s.desc))).addToServer(server);

  const host = opts.host ?? "0.0.0.0";
  const address = `${host.includes(":") ? `[${host}]` : host}:${opts.port}`;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
  });
  gateGrpcStreams(server);
  opts.log?.("grpc_listening", { host, port });

  const grace = opts.shutdownGraceMs ?? 2000;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= new Promise<void>((resolve) => {
      for (const name of Object.keys(statuses)) health.setStatus(name, "NOT_SERVING");
      const timer = setTimeout(() => server.forceShutdown(), grace);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    }));

  return { port, health, close };
}

/**
 * The package definition ReflectionService reads: it only uses each entry's
 * `fileDescriptorProtos`, decodes them and indexes symbols itself.
 *
 * The files are protobuf-es's own descriptors of the served services and everything they import
 * (wkt included), not proto-loader's: loadFileDescriptorSetFromBuffer re-creates files per
 * package (all of tessera.v1 in one file with no imports, Duration and Timestamp merged under
 * timestamp.proto), and buf curl / grpcurl then fail to resolve the methods' types.
 * grpc.health.v1 is added (see health-descriptor.ts) so tools can describe it too.
 */
function reflectionPackage(services: DescService[]): ConstructorParameters<typeof ReflectionService>[0] {
  const files: Record<string, { fileDescriptorProtos: Buffer[] }> = {};
  const visit = (file: DescFile): void => {
    if (file.proto.name in files) return;
    const bytes = toBinary(FileDescriptorProtoSchema, file.proto);
    files[file.proto.name] = { fileDescriptorProtos: [Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)] };
    for (const dep of file.dependencies) visit(dep);
  };
  for (const desc of services) visit(desc.file);
  files[HEALTH_FILE_NAME] = { fileDescriptorProtos: [Buffer.from(healthFileDescriptor())] };
  return files as unknown as ConstructorParameters<typeof ReflectionService>[0];
}

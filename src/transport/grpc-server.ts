// The gRPC listener: grpc-js serving the Connect service implementations, plus the two services
// operators and tools expect on a gRPC port: grpc.health.v1 and server reflection.
//
// Health starts NOT_SERVING for the server ('') and every service; whoever starts the process
// flips them to SERVING once the database is reachable (health.setStatus), and close() flips them
// back so load balancers drain before the listener goes. Reflection is fed the same protobuf-es
// descriptors the code was generated from, so it can never disagree with what is served.

import * as grpc from '@grpc/grpc-js';
import { loadFileDescriptorSetFromBuffer } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, type ServingStatusMap } from 'grpc-health-check';
import { create, toBinary, type DescFile, type DescService } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema, type FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import type { ServiceImpl } from '@connectrpc/connect';
import type { Authenticator } from '../services/caller.js';
import type { LogFn } from './errors.js';
import { createGrpcService } from './grpc-adapter.js';

export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

export interface GrpcServerOptions {
  /** Defaults to 0.0.0.0. */
  host?: string;
  /** 0 picks a free port; the bound one is returned. */
  port: number;
  /** Each service once; `impl` is its Connect ServiceImpl. */
  services: Array<{ desc: DescService; impl: object }>;
  authenticate: Authenticator;
  log?: LogFn | undefined;
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
  const server = new grpc.Server({
    'grpc.max_receive_message_length': maxBytes,
    'grpc.max_send_message_length': maxBytes,
  });

  const statuses: ServingStatusMap = { '': 'NOT_SERVING' };
  for (const { desc, impl } of opts.services) {
    const svc = createGrpcService(desc, impl as Partial<ServiceImpl<DescService>>, {
      authenticate: opts.authenticate,
      log: opts.log,
    });
    server.addService(svc.definition, svc.implementation);
    statuses[desc.typeName] = 'NOT_SERVING';
  }
  const health = new HealthImplementation(statuses);
  health.addToServer(server);
  new ReflectionService(reflectionPackage(opts.services.map((s) => s.desc))).addToServer(server);

  const host = opts.host ?? '0.0.0.0';
  const address = `${host.includes(':') ? `[${host}]` : host}:${opts.port}`;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
  });
  opts.log?.('grpc_listening', { host, port });

  const grace = opts.shutdownGraceMs ?? 2000;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= new Promise<void>((resolve) => {
      for (const name of Object.keys(statuses)) health.setStatus(name, 'NOT_SERVING');
      const timer = setTimeout(() => server.forceShutdown(), grace);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    }));

  return { port, health, close };
}

/** A proto-loader package definition of the served files and everything they import. */
function reflectionPackage(services: DescService[]): ReturnType<typeof loadFileDescriptorSetFromBuffer> {
  const files: FileDescriptorProto[] = [];
  const seen = new Set<string>();
  // Dependencies first, so every file's imports precede it.
  const visit = (file: DescFile): void => {
    if (seen.has(file.name)) return;
    seen.add(file.name);
    for (const dep of file.dependencies) visit(dep);
    files.push(file.proto);
  };
  for (const desc of services) visit(desc.file);
  const bytes = toBinary(FileDescriptorSetSchema, create(FileDescriptorSetSchema, { file: files }));
  return loadFileDescriptorSetFromBuffer(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

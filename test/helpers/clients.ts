/**
 * Real clients for every way into Tessera, behind one small shape so that a test can run the same
 * assertions through each: grpc-js on the gRPC port; Connect over HTTP/1.1 and HTTP/2, gRPC over
 * HTTP/2 and gRPC-web over HTTP/1.1 on the HTTP port.
 */
import type { DescService } from "@bufbuild/protobuf";
import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { TokenAdminService } from "../../src/gen/tessera/v1/token_admin_service_pb.js";
import { TokenVerifyService } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { createGrpcClient } from "../../src/wire/grpc-client.js";

/** A client whose every method takes (request, bearer token?) and returns a promise or stream. */
export type Authed<D extends DescService> = {
  [K in keyof Client<D>]: Client<D>[K] extends (req: infer I, opts?: infer _O) => infer R ? (req: I, token?: string) => R : never;
};

export interface Clients {
  name: string;
  admin: Authed<typeof TokenAdminService>;
  verify: Authed<typeof TokenVerifyService>;
  close(): void;
}

function wrapConnect<D extends DescService>(desc: D, transport: Transport): Authed<D> {
  const c = createClient(desc, transport) as unknown as Record<string, (req: unknown, opts?: unknown) => unknown>;
  const out: Record<string, unknown> = {};
  for (const m of desc.methods) {
    out[m.localName] = (req: unknown, token?: string) =>
      c[m.localName]!(req, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  }
  return out as Authed<D>;
}

function wrapGrpc<D extends DescService>(desc: D, address: string): { client: Authed<D>; close(): void } {
  const c = createGrpcClient(desc, address) as unknown as Record<string, (req: unknown, opts?: unknown) => unknown> & { close(): void };
  const out: Record<string, unknown> = {};
  for (const m of desc.methods) {
    out[m.localName] = (req: unknown, token?: string) =>
      c[m.localName]!(req, token === undefined ? {} : { metadata: { authorization: `Bearer ${token}` } });
  }
  return { client: out as Authed<D>, close: () => c.close() };
}

export function grpcJsClients(grpcPort: number): Clients {
  const a = wrapGrpc(TokenAdminService, `127.0.0.1:${grpcPort}`);
  const v = wrapGrpc(TokenVerifyService, `127.0.0.1:${grpcPort}`);
  return { name: "grpc-js on the gRPC port", admin: a.client, verify: v.client, close: () => (a.close(), v.close()) };
}

export function httpClients(httpPort: number): Clients[] {
  const baseUrl = `http://127.0.0.1:${httpPort}`;
  const make = (name: string, t: Transport): Clients => ({
    name,
    admin: wrapConnect(TokenAdminService, t),
    verify: wrapConnect(TokenVerifyService, t),
    close: () => undefined,
  });
  return [
    make("Connect over HTTP/1.1", createConnectTransport({ baseUrl, httpVersion: "1.1" })),
    make("Connect over HTTP/2", createConnectTransport({ baseUrl, httpVersion: "2" })),
    make("gRPC over HTTP/2 on the HTTP port", createGrpcTransport({ baseUrl })),
    make("gRPC-web over HTTP/1.1", createGrpcWebTransport({ baseUrl, httpVersion: "1.1" })),
  ];
}

/** Every transport, for tests that run the same assertions through each. */
export function allClients(ports: { grpcPort: number; httpPort: number }): Clients[] {
  return [grpcJsClients(ports.grpcPort), ...httpClients(ports.httpPort)];
}

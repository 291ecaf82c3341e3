// The HTTP listener: Connect, gRPC-web and gRPC on one port, over HTTP/1.1 and cleartext HTTP/2.
//
// Node's plaintext http2 server has no HTTP/1.1 fallback (that negotiation only exists in TLS
// through ALPN), so a net.Server accepts each connection, reads until the first bytes either
// match or rule out the HTTP/2 connection preface, puts them back (unshift) and hands the socket
// to an http2 or an http server. Both run the same connect-node handler, whose fallback serves
// everything Connect does not route (/healthz, /metrics, the console).

import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import type { ConnectRouter, Interceptor } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';

export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** Every h2c connection opens with these 24 bytes (RFC 9113 §3.4). */
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export interface HttpServerOptions {
  /** Defaults to 0.0.0.0. */
  host?: string;
  /** 0 picks a free port; the bound one is returned. */
  port: number;
  routes: (router: ConnectRouter) => void;
  interceptors: Interceptor[];
  /** Plain Node handler for paths Connect does not route. Default: 404. */
  fallback?: (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => void;
  /** Largest request message (and response message); bigger fail with RESOURCE_EXHAUSTED. 4 MiB default. */
  maxMessageBytes?: number;
  /** How long close() lets requests in flight finish before cutting connections. 2 s default. */
  shutdownGraceMs?: number;
  /** A connection that sends nothing for this long before its first bytes is dropped. 10 s default. */
  sniffTimeoutMs?: number;
}

export interface HttpServer {
  port: number;
  close(): Promise<void>;
}

export async function startHttpServer(opts: HttpServerOptions): Promise<HttpServer> {
  const maxBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const handler = connectNodeAdapter({
    routes: opts.routes,
    interceptors: opts.interceptors,
    connect: true,
    grpc: true,
    grpcWeb: true,
    readMaxBytes: maxBytes,
    writeMaxBytes: maxBytes,
    ...(opts.fallback === undefined ? {} : { fallback: opts.fallback as Parameters<typeof connectNodeAdapter>[0]['fallback'] }),
  });
  const h1 = http.createServer(handler);
  const h2 = http2.createServer(handler);

  const sockets = new Set<net.Socket>();
  const sniffing = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on('session', (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });

  const sniffTimeout = opts.sniffTimeoutMs ?? 10_000;
  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    sniffing.add(socket);
    sniff(socket, sniffTimeout, (isH2) => {
      sniffing.delete(socket);
      (isH2 ? h2 : h1).emit('connection', socket);
    });
  });

  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(opts.port, opts.host ?? '0.0.0.0', () => {
      tcp.off('error', reject);
      resolve();
    });
  });
  const port = (tcp.address() as net.AddressInfo).port;

  const grace = opts.shutdownGraceMs ?? 2000;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= new Promise<void>((resolve) => {
      // net.Server's close callback runs once every accepted socket is gone, h1 and h2 alike.
      const timer = setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, grace);
      tcp.close(() => {
        clearTimeout(timer);
        resolve();
      });
      h1.closeIdleConnections();
      for (const session of sessions) session.close();
      for (const socket of sniffing) socket.destroy();
    }));

  return { port, close };
}

/** Reads just enough of a new connection to tell h2c prior knowledge from HTTP/1.1. */
function sniff(socket: net.Socket, timeoutMs: number, handOff: (isH2: boolean) => void): void {
  let head: Buffer = Buffer.alloc(0);
  const onError = (): void => {
    socket.destroy();
  };
  const onTimeout = onError;
  const onData = (chunk: Buffer): void => {
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    const n = Math.min(head.length, H2_PREFACE.length);
    const prefixMatches = head.compare(H2_PREFACE, 0, n, 0, n) === 0;
    if (prefixMatches && head.length < H2_PREFACE.length) return; // not enough bytes yet
    socket.off('data', onData);
    socket.off('error', onError);
    socket.off('timeout', onTimeout);
    socket.setTimeout(0);
    socket.pause();
    socket.unshift(head);
    handOff(prefixMatches);
    // The servers attach their own readers; make sure the put-back bytes flow to them.
    process.nextTick(() => socket.resume());
  };
  socket.on('data', onData);
  socket.on('error', onError);
  socket.setTimeout(timeoutMs, onTimeout);
}

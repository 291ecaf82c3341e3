// The HTTP listener: Connect, gRPC-web (binary and text) and gRPC on one port, over HTTP/1.1 and cleartext HTTP/2.
//
// Node's plaintext http2 server has no HTTP/1.1 fallback (that negotiation only exists in TLS
// through ALPN), so a net.Server accepts each connection, reads until the first bytes either
// match or rule out the HTTP/2 connection preface, puts them back (unshift) and hands the socket
// to an http2 or an http server. Both run the same connect-node handler, whose fallback serves
// everything Connect does not route (/healthz, /metrics, the console).

import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { createConnectRouter, createContextValues, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import { kSeveralCredentials } from "./auth-interceptor.js";
import { withClientFaultsAnswered } from "./client-faults.js";
import { withGrpcWebText } from "./grpc-web-text.js";
import { countRawHeader } from "./raw-headers.js";
import { kPeer } from "../services/request-info.js";

const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** Every h2c connection opens with these 24 bytes (RFC 9113 §3.4). */
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

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
  const handler = createRpcHandler(opts);
  // HTTP/1.1: a request refused before its body was read (over the size cap) leaves unread bytes
  // on the connection, which Node then closes. Say so in the response, so the client does not
  // reuse the connection for its next request and see it reset.
  const h1 = http.createServer((req, res) => {
    const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => http.ServerResponse;
    res.writeHead = ((...args: unknown[]) => {
      if (!req.complete && !res.headersSent) res.setHeader("connection", "close");
      return writeHead(...args);
    }) as typeof res.writeHead;
    handler(req, res);
  });
  // HTTP/2: a request refused before its body was read (over the size cap) leaves the rest of the
  // body on its stream. Left alone, that stream never ends: it stays open with its flow-control
  // window full, and the client keeps the unsent bytes queued and counted against its session
  // memory, refused request after refused request, until that session refuses every stream
  // (ENHANCE_YOUR_CALM). So the response's end waits while the rest of the body is read and
  // dropped: the client finishes sending before it sees the answer, both sides close the stream,
  // and nothing stays queued. (RST_STREAM does not help: Node's http2 client never releases the
  // memory accounting of data still queued on a stream the peer resets.)
  const h2 = http2.createServer((req, res) => {
    const end = res.end.bind(res) as (...args: unknown[]) => void;
    res.end = ((...args: unknown[]) => {
      endAfterBody(req.stream, () => end(...args));
      return res;
    }) as typeof res.end;
    handler(req, res);
  });

  const sockets = new Set<net.Socket>();
  const sniffing = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });

  const sniffTimeout = opts.sniffTimeoutMs ?? 10_000;
  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    sniffing.add(socket);
    sniff(socket, sniffTimeout, (isH2) => {
      sniffing.delete(socket);
      (isH2 ? h2 : h1).emit("connection", socket);
    });
  });

  await new Promise<void>((resolve, reject) => {
    tcp.once("error", reject);
    tcp.listen(opts.port, opts.host ?? "0.0.0.0", () => {
      tcp.off("error", reject);
      resolve();
    });
  });
  const port = (tcp.address() as net.AddressInfo).port;
  // h1 never listens itself, and Node only starts tracking its connections (closeIdleConnections,
  // headersTimeout and requestTimeout checks) on 'listening'.
  h1.emit("listening");

  const grace = opts.shutdownGraceMs ?? 2000;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= new Promise<void>((resolve) => {
      // net.Server's close callback runs once every accepted socket is gone, h1 and h2 alike.
      const timer = setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, grace);
      // HTTP/1.1 connections busy now become idle keep-alives later; keep closing those.
      const idle = setInterval(() => h1.closeIdleConnections(), 50);
      tcp.close(() => {
        clearTimeout(timer);
        clearInterval(idle);
        resolve();
      });
      h1.close(); // stops its connection-checking timer and closes idle connections
      for (const session of sessions) session.close(); // GOAWAY; streams in flight may finish
      for (const socket of sniffing) socket.destroy();
    }));

  return { port, close };
}

type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;
type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;

/**
 * What connect-node's connectNodeAdapter does, plus three things it cannot: every method's handler
 * reports the request's own faults as INVALID_ARGUMENT (client-faults.ts), answers gRPC-web's
 * base64 text mode (grpc-web-text.ts), and a request that carries several `authorization` headers
 * is marked for the auth interceptor to refuse (Node keeps only the first in `headers`;
 * `rawHeaders` has them all).
 */
function createRpcHandler(opts: HttpServerOptions): (req: NodeRequest, res: NodeResponse) => void {
  const maxBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const router = createConnectRouter({
    interceptors: opts.interceptors,
    connect: true,
    grpc: true,
    grpcWeb: true,
    readMaxBytes: maxBytes,
    writeMaxBytes: maxBytes,
    acceptCompression: [compressionGzip, compressionBrotli],
  });
  opts.routes(router);
  const paths = new Map<string, UniversalHandler>();
  // Text mode outermost: the faults are answered on the binary frames it then encodes.
  for (const h of router.handlers) paths.set(h.requestPath, withGrpcWebText(withClientFaultsAnswered(h)));
  const fallback =
    opts.fallback ??
    ((_req: NodeRequest, res: NodeResponse) => {
      res.writeHead(404);
      res.end();
    });
  return (req, res) => {
    const h = paths.get(req.url?.split("?", 2)[0] ?? "");
    if (h === undefined) {
      fallback(req, res);
      return;
    }
    const values = createContextValues().set(kPeer, { getPeer: () => peerOf(req) });
    if (countRawHeader(req.rawHeaders, "authorization") > 1) values.set(kSeveralCredentials, true);
    h(universalRequestFromNodeRequest(req, res, undefined, values))
      .then((uRes) => universalResponseToNodeResponse(uRes, res))
      .catch(() => {
        // The client went away mid-response, or the response could not be written: nothing to
        // tell anyone, and the request's own errors were already answered.
        try {
          if (!res.headersSent) res.writeHead(500);
          res.end();
        } catch {
          // Already destroyed.
        }
      });
  };
}

/** `address:port` of the client (`[address]:port` for IPv6), as grpc-js says it. */
function peerOf(req: NodeRequest): string {
  const s = req.socket;
  const a = s.remoteAddress ?? "";
  return a.includes(":") ? `[${a}]:${s.remotePort}` : `${a}:${s.remotePort}`;
}

/** Past this many unread request bytes, the response ends and the stream is reset (CANCEL). */
const DISCARD_MAX_BYTES = 16 * 1024 * 1024;
/** The response ends after this long even if the client is still sending the body. */
const DISCARD_WAIT_MS = 5000;

/**
 * Calls `end` (the response's end) once the request body on `stream` has been received: at once
 * if it has been read already, else after reading and dropping the rest of it.
 */
function endAfterBody(stream: http2.ServerHttp2Stream, end: () => void): void {
  if (stream.destroyed || stream.closed || stream.readableEnded) {
    end();
    return;
  }
  let ended = false;
  const finish = (): void => {
    if (ended) return;
    ended = true;
    clearTimeout(timer);
    end();
  };
  const timer = setTimeout(finish, DISCARD_WAIT_MS);
  stream.once("end", finish);
  stream.once("close", finish);
  let discarded = 0;
  // The handler is done with the body. The compat request may be gone already (connect-node
  // destroys it when it stops reading early), and its 'data' listener would pause the stream.
  stream.removeAllListeners("data");
  stream.on("data", (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded <= DISCARD_MAX_BYTES || ended) return;
    finish();
    resetOnceSent(stream);
  });
  // resume() alone does nothing to a stream that is flowing already but stopped reading when
  // the compat request paused it.
  stream.pause();
  stream.resume();
}

/** RST_STREAM CANCEL, once the response's last frame went out (a reset sooner would drop it). */
function resetOnceSent(stream: http2.ServerHttp2Stream, tries = 0): void {
  if (stream.closed || stream.destroyed) return;
  if (stream.state.localClose === 1 || tries >= 1000) stream.close(http2.constants.NGHTTP2_CANCEL);
  else setImmediate(resetOnceSent, stream, tries + 1);
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
    socket.off("data", onData);
    socket.off("error", onError);
    socket.off("timeout", onTimeout);
    socket.setTimeout(0);
    socket.pause();
    socket.unshift(head);
    handOff(prefixMatches);
    // The servers attach their own readers; make sure the put-back bytes flow to them.
    process.nextTick(() => socket.resume());
  };
  socket.on("data", onData);
  socket.on("error", onError);
  socket.setTimeout(timeoutMs, onTimeout);
}

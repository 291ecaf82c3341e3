// The HTTP listener through real Connect clients: one port, four protocol/HTTP-version pairs,
// all held to the same contract as the gRPC port; plus the fallback and the preface sniffing.

import assert from "node:assert/strict";
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { Code, ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { startHttpServer, type HttpServer } from "../../src/transport/http-server.js";
import { createAuthInterceptor } from "../../src/transport/auth-interceptor.js";
import { TokenVerifyService } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { describeRpcContract, type LogEntry, type VerifyClient } from "./contract.js";
import { GOOD_TOKEN, createStubState, createStubVerifyService, stubAuthenticate } from "./stubs.js";

describe("the HTTP listener", () => {
  const logs: LogEntry[] = [];
  let server: HttpServer;
  let baseUrl = "";

  before(async () => {
    server = await startHttpServer({
      host: "127.0.0.1",
      port: 0,
      routes: (router) => router.service(TokenVerifyService, createStubVerifyService(createStubState())),
      interceptors: [createAuthInterceptor(stubAuthenticate, { log: (event, fields = {}) => logs.push({ event, fields }) })],
      fallback: (req, res) => {
        if (req.url === "/healthz") {
          res.writeHead(200, { "content-type": "text/plain" });
          res.end("ok\n");
        } else {
          res.writeHead(404);
          res.end();
        }
      },
    });
    baseUrl = `http://127.0.0.1:${server.port}`;
  });

  after(async () => {
    await server?.close();
  });

  const transports: Array<[title: string, protocol: string, make: (baseUrl: string) => Transport]> = [
    ["with Connect over HTTP/1.1", "connect", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1" })],
    ["with Connect over HTTP/2", "connect", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2" })],
    ["with gRPC over HTTP/2", "grpc", (baseUrl) => createGrpcTransport({ baseUrl })],
    ["with gRPC-web over HTTP/1.1", "grpc-web", (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" })],
  ];
  for (const [title, protocol, make] of transports) {
    let client: Client<typeof TokenVerifyService> | undefined;
    const get = (): Client<typeof TokenVerifyService> => (client ??= createClient(TokenVerifyService, make(baseUrl)));
    const headers = (authorization: string | undefined): Record<string, string> => (authorization === undefined ? {} : { authorization });
    describeRpcContract(title, {
      protocol,
      logs,
      client: (): VerifyClient => ({
        verify: (req, authorization) => get().verify(req, { headers: headers(authorization) }),
        watch: (req, authorization) => get().watchRevocations(req, { headers: headers(authorization) }),
      }),
    });
  }

  // A refused request's unread body must not stay queued on the connection: over HTTP/2 it
  // used to, until the client's session refused every stream with ENHANCE_YOUR_CALM. The clients
  // keep Node's default maxSessionMemory (10 MB, two such bodies).
  const h2Transports: Array<[title: string, make: (baseUrl: string) => Transport]> = [
    ["Connect over HTTP/2", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2" })],
    ["gRPC over HTTP/2", (baseUrl) => createGrpcTransport({ baseUrl })],
  ];
  for (const [title, make] of h2Transports) {
    it(`keeps serving a connection after a burst of oversized messages on it, with ${title}`, async () => {
      const client = createClient(TokenVerifyService, make(baseUrl));
      const headers = { authorization: GOOD_TOKEN };
      for (let i = 1; i <= 12; i++) {
        const err = await client.verify({ credential: "x".repeat(5 * 1024 * 1024) }, { headers }).then(
          () => assert.fail(`5 MiB call #${i} succeeded`),
          (e: unknown) => ConnectError.from(e),
        );
        assert.equal(err.code, Code.ResourceExhausted, `5 MiB call #${i}: ${Code[err.code]} "${err.rawMessage}"`);
      }
      const ok = await client.verify({ credential: "ok" }, { headers });
      assert.equal(ok.allowed, true, "a good call on the same connection afterwards");
    });
  }

  it("hands paths Connect does not route to the fallback, over HTTP/1.1", async () => {
    const res = await h1Get(`${baseUrl}/healthz`);
    assert.equal(res.status, 200);
    assert.equal(res.body, "ok\n");
    assert.equal((await h1Get(`${baseUrl}/nope`)).status, 404);
  });

  it("hands paths Connect does not route to the fallback, over h2c", async () => {
    const session = http2.connect(baseUrl);
    try {
      const req = session.request({ ":path": "/healthz" });
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (c: string) => (body += c));
      const status = await new Promise<number>((resolve, reject) => {
        let code = 0;
        req.on("response", (h) => (code = Number(h[":status"])));
        req.on("end", () => resolve(code));
        req.on("error", reject);
      });
      assert.equal(status, 200);
      assert.equal(body, "ok\n");
    } finally {
      session.close();
    }
  });

  it("routes a connection whose first bytes arrive one at a time", async () => {
    const reply = await rawExchange(server.port, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "HTTP/1.1 200");
    assert.match(reply, /^HTTP\/1\.1 200/);
    // The h2 preface split across writes, then an empty SETTINGS frame: the server answers with its own SETTINGS.
    const settings = "\x00\x00\x00\x04\x00\x00\x00\x00\x00";
    const h2reply = await rawExchange(server.port, `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n${settings}`, undefined, 9);
    assert.equal(h2reply.charCodeAt(3), 0x04, "the first frame from the server is SETTINGS");
  });
});

describe("closing the HTTP listener", () => {
  it("ends idle keep-alive connections of HTTP/1.1 and HTTP/2 clients without waiting for the grace period", async () => {
    const server = await startHttpServer({
      host: "127.0.0.1",
      port: 0,
      routes: (router) => router.service(TokenVerifyService, createStubVerifyService(createStubState())),
      interceptors: [createAuthInterceptor(stubAuthenticate)],
      shutdownGraceMs: 10_000,
    });
    const baseUrl = `http://127.0.0.1:${server.port}`;
    const agent = new http.Agent({ keepAlive: true });
    for (const transport of [
      createConnectTransport({ baseUrl, httpVersion: "1.1", nodeOptions: { agent } }),
      createConnectTransport({ baseUrl, httpVersion: "2" }),
      createGrpcWebTransport({ baseUrl, httpVersion: "1.1", nodeOptions: { agent } }),
    ]) {
      const res = await createClient(TokenVerifyService, transport).verify(
        { credential: "ok" },
        { headers: { authorization: GOOD_TOKEN } },
      );
      assert.equal(res.allowed, true);
    }
    // A wall-clock bound, kept: the slow ways to close take 5 s (HTTP/1.1 keep-alive timeout) or
    // 10 s (the grace period), and closing a few idle connections takes milliseconds even on a
    // loaded machine, so 1 s tells them apart with a wide margin either way.
    const started = Date.now();
    await server.close();
    assert.ok(Date.now() - started < 1000, `close took ${Date.now() - started} ms`);
    agent.destroy();
  });
});

function h1Get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on("error", reject);
  });
}

/** Writes `data` one byte per tick, then reads until `until` appears or `minBytes` arrived. */
function rawExchange(port: number, data: string, until?: string, minBytes = 1): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let got = "";
    const finish = (): void => {
      socket.destroy();
      resolve(got);
    };
    socket.setEncoding("latin1");
    socket.on("data", (c: string) => {
      got += c;
      if (until !== undefined ? got.includes(until) : got.length >= minBytes) finish();
    });
    socket.on("error", reject);
    socket.on("connect", async () => {
      for (const ch of data) {
        socket.write(Buffer.from(ch, "latin1"));
        await new Promise((r) => setTimeout(r, 2));
      }
    });
  });
}

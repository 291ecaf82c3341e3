// The gRPC listener through a real grpc-js client: the shared contract, plus what only this port
// has (health, reflection, cancellation and backpressure on the grpc-js adapter).

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";
import { startGrpcServer, type GrpcServer } from "../../src/transport/grpc-server.js";
import { createGrpcClient, type GrpcClient } from "../../src/transport/grpc-adapter.js";
import { TokenVerifyService } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { describeRpcContract, type LogEntry } from "./contract.js";
import { GOOD_TOKEN, createStubState, createStubVerifyService, stubAuthenticate } from "./stubs.js";

const run = promisify(execFile);

describe("the gRPC listener", () => {
  const logs: LogEntry[] = [];
  const state = createStubState();
  let server: GrpcServer;
  let client: GrpcClient<typeof TokenVerifyService>;

  before(async () => {
    server = await startGrpcServer({
      host: "127.0.0.1",
      port: 0,
      services: [{ desc: TokenVerifyService, impl: createStubVerifyService(state) }],
      authenticate: stubAuthenticate,
      log: (event, fields = {}) => logs.push({ event, fields }),
    });
    client = createGrpcClient(TokenVerifyService, `127.0.0.1:${server.port}`);
  });

  after(async () => {
    client?.close();
    await server?.close();
  });

  describeRpcContract("with a grpc-js client", {
    protocol: "grpc",
    logs,
    client: () => ({
      verify: (req, authorization) => client.verify(req, { metadata: authorization === undefined ? {} : { authorization } }),
      watch: (req, authorization) => client.watchRevocations(req, { metadata: authorization === undefined ? {} : { authorization } }),
    }),
  });

  it("answers a request body that is not protobuf with INVALID_ARGUMENT", async () => {
    const call = new Promise((resolve, reject) => {
      client.raw.makeUnaryRequest(
        "/tessera.v1.TokenVerifyService/Verify",
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from([0x0a, 0xff, 0xff, 0xff]), // field 1, length far beyond the body
        new grpc.Metadata(),
        (err, value) => (err ? reject(err) : resolve(value)),
      );
    });
    await assert.rejects(call, (err: grpc.ServiceError) => {
      assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
      return true;
    });
  });

  it("stops the service stream when the client cancels", async () => {
    state.cancelled = false;
    let seen = 0;
    for await (const _ of client.watchRevocations({ afterCursor: "forever" }, { metadata: { authorization: GOOD_TOKEN } })) {
      if (++seen === 3) break;
    }
    await waitFor(() => state.cancelled, "the service saw its signal abort");
  });

  it("writes a stream no faster than the client reads it", async () => {
    const stream = client.watchRevocations({ afterCursor: "big" }, { metadata: { authorization: GOOD_TOKEN } });
    const it = stream[Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(first.done, false);
    // Time for a service that ignores backpressure to run ahead. This can only pass more slowly,
    // never fail spuriously: a service that waits for the reader produces no more however long
    // this lasts (a slower machine only gives a wrong one less time to show).
    await sleep(300);
    // 200 messages of 64 KiB are 12.5 MiB; flow control plus the writable's buffer hold far less.
    assert.ok(state.produced < 200, `the service ran ahead to ${state.produced} messages`);
    let n = 1;
    let last = "";
    for (let r = await it.next(); !r.done; r = await it.next()) {
      n++;
      last = r.value.item.value?.cursor.split(":")[0] ?? "";
    }
    assert.equal(n, 200);
    assert.equal(last, "200");
  });

  it("answers grpc.health.v1 Check, NOT_SERVING until told otherwise", async () => {
    const Health = grpc.makeClientConstructor(healthService as grpc.ServiceDefinition, "grpc.health.v1.Health");
    const health = new Health(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    const check = (service: string): Promise<{ status: string }> =>
      new Promise((resolve, reject) => {
        (health as unknown as Record<string, (...args: unknown[]) => unknown>)["Check"]!.call(
          health,
          { service },
          (err: Error | null, res: { status: string }) => (err ? reject(err) : resolve(res)),
        );
      });
    try {
      assert.equal((await check("")).status, "NOT_SERVING");
      assert.equal((await check("tessera.v1.TokenVerifyService")).status, "NOT_SERVING");
      server.health.setStatus("", "SERVING");
      server.health.setStatus("tessera.v1.TokenVerifyService", "SERVING");
      assert.equal((await check("")).status, "SERVING");
      assert.equal((await check("tessera.v1.TokenVerifyService")).status, "SERVING");
      await assert.rejects(check("no.such.Service"), (err: grpc.ServiceError) => err.code === grpc.status.NOT_FOUND);
    } finally {
      health.close();
    }
  });

  /** buf curl against the gRPC listener, over h2c, with `args` before the URL. */
  const bufCurl = (args: string[], path = "") =>
    run("npx", ["buf", "curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args, `http://127.0.0.1:${server.port}${path}`]);

  it("lists the tessera services through server reflection (buf curl)", async () => {
    const { stdout } = await bufCurl(["--list-services"]);
    const services = stdout.trim().split("\n");
    assert.ok(services.includes("tessera.v1.TokenVerifyService"), stdout);
    assert.ok(services.includes("grpc.health.v1.Health"), stdout);
  });

  it("describes a service through reflection with its imports resolved", async () => {
    const { stdout } = await bufCurl(["--list-methods"]);
    const methods = stdout.trim().split("\n");
    assert.ok(methods.includes("tessera.v1.TokenVerifyService/Verify"), stdout);
    assert.ok(methods.includes("tessera.v1.TokenVerifyService/WatchRevocations"), stdout);
    assert.ok(methods.includes("grpc.health.v1.Health/Check"), stdout);
  });

  it("describes methods well enough through reflection for buf curl to call Verify", async () => {
    const { stdout } = await bufCurl(
      ["-H", `authorization: ${GOOD_TOKEN}`, "-d", '{"credential":"ok"}'],
      "/tessera.v1.TokenVerifyService/Verify",
    );
    const res = JSON.parse(stdout) as { allowed?: boolean; principal?: { tokenName?: string } };
    assert.equal(res.allowed, true);
    assert.equal(res.principal?.tokenName, "ok");
  });
});

async function waitFor(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) assert.fail(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

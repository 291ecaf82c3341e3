/**
 * Hostile input (issue 10, defects 1-5): each answer has the right code, a message that neither
 * quotes the input nor shows internals, no other caller is hurt, and the server keeps serving.
 */
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { EndpointClass, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { GetOrganizationRequestSchema } from "../../src/gen/tessera/v1/token_admin_service_pb.js";
import {
  VerifyRequestSchema,
  VerifyResponseSchema,
  VerifyStatus,
  WatchRevocationsRequestSchema,
} from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { fromBinary } from "@bufbuild/protobuf";
import { useSetUpServer } from "../helpers/fixture.js";
import { createOrg, issue, type SeededOrg } from "../helpers/seed.js";
import { assertCleanMessage, byName, rejects, transportNames } from "../service/support.js";
import { curl, endStreamError, frame, grpcStatus, grpcWebStatus, h1, h2 } from "./raw.js";

const ADMIN = "/tessera.v1.TokenAdminService";
const VERIFY = "/tessera.v1.TokenVerifyService";
const pageToken = (o: unknown) => Buffer.from(JSON.stringify(o), "utf8").toString("base64url");

describe("hostile input", function () {
  this.timeout(60_000);
  const f = useSetUpServer();
  let org: SeededOrg;
  before(async () => {
    org = await createOrg(f.c, f.inst.operatorToken);
  });

  /** A good Verify on both listeners: the server still serves. */
  const stillServes = async () => {
    for (const c of [f.clients[0]!, f.clients[1]!]) {
      const r = await c.verify.verify(
        { credential: org.defaultTokenValue, organization: org.identifier, endpoint: EndpointClass.INGEST },
        f.inst.verifierToken,
      );
      assert.equal(r.status, VerifyStatus.VALID, `${c.name} stopped answering`);
    }
  };

  describe("a NUL byte or junk in a Verify organization", () => {
    for (const name of transportNames()) {
      it(`answers NOT_FOUND for it alone and VALID for 11 callers batched with it (${name})`, async () => {
        const c = byName(f.clients, name);
        // Fresh tokens: nothing cached, so all twelve reach the database in the same turn.
        const tokens = await Promise.all(Array.from({ length: 12 }, () => issue(c, org.adminToken, { kind: TokenKind.INGESTION })));
        const [probe, ...others] = tokens;
        const answers = await Promise.all([
          c.verify.verify(
            { credential: probe!.value, organization: "orgfuzz\u0000", endpoint: EndpointClass.INGEST },
            f.inst.verifierToken,
          ),
          ...others.map((t) =>
            c.verify.verify({ credential: t.value, organization: org.identifier, endpoint: EndpointClass.INGEST }, f.inst.verifierToken),
          ),
        ]);
        assert.equal(answers[0]!.status, VerifyStatus.NOT_FOUND);
        assert.deepEqual(
          answers.slice(1).map((a) => VerifyStatus[a.status]),
          others.map(() => "VALID"),
        );
        // The probe's own token is fine with its real organization.
        const again = await c.verify.verify(
          { credential: probe!.value, organization: org.identifier, endpoint: EndpointClass.INGEST },
          f.inst.verifierToken,
        );
        assert.equal(again.status, VerifyStatus.VALID);
      });
    }

    it("answers NOT_FOUND for identifiers no organization can have, without a database lookup", async () => {
      const t = await issue(f.c, org.adminToken, { kind: TokenKind.INGESTION });
      const before = f.server.tessera.cache.misses;
      for (const organization of ["x".repeat(10_000), "Acme Corp", "a\u0000b", "\ud800", "ACME"]) {
        const r = await f.c.verify.verify({ credential: t.value, organization, endpoint: EndpointClass.INGEST }, f.inst.verifierToken);
        assert.equal(r.status, VerifyStatus.NOT_FOUND, JSON.stringify(organization.slice(0, 20)));
      }
      // Refused before the cache and the database: no lookup was even attempted.
      assert.equal(f.server.tessera.cache.misses, before);
      await stillServes();
    });
  });

  describe("page tokens that decode to something SQL cannot take", () => {
    for (const name of transportNames()) {
      it(`answers INVALID_ARGUMENT without quoting them (${name})`, async () => {
        const c = byName(f.clients, name);
        const cases: Array<[string, () => Promise<unknown>]> = [
          [
            "a NUL in an organization position",
            () => c.admin.listOrganizations({ pageToken: pageToken({ k: "o", p: "a\u0000" }) }, f.inst.operatorToken),
          ],
          [
            "a lone surrogate in an organization position",
            () => c.admin.listOrganizations({ pageToken: pageToken({ k: "o", p: "a\ud800" }) }, f.inst.operatorToken),
          ],
          [
            "an over-long position",
            () => c.admin.listOrganizations({ pageToken: pageToken({ k: "o", p: "z".repeat(600) }) }, f.inst.operatorToken),
          ],
          [
            "a token sequence past bigint",
            () => c.admin.listTokens({ pageToken: pageToken({ k: "t", p: "1:9999999999999999999" }) }, org.adminToken),
          ],
        ];
        for (const [what, call] of cases) {
          const err = await rejects(call(), Code.InvalidArgument, what);
          assert.doesNotMatch(err.rawMessage, /zzzz|9999/, `${what}: the message quotes the input`);
        }
        await stillServes();
      });
    }
  });

  describe("text no field may carry", () => {
    for (const name of transportNames()) {
      it(`refuses a NUL in any admin request field with INVALID_ARGUMENT naming the field (${name})`, async () => {
        const c = byName(f.clients, name);
        const e1 = await rejects(
          c.admin.createToken({ name: "nul-bucket", kind: TokenKind.INGESTION, permissions: { buckets: ["main\u0000x"] } }, org.adminToken),
          Code.InvalidArgument,
          "a NUL in a bucket of the permissions",
        );
        assert.match(e1.rawMessage, /permissions\.buckets\[0\] contains a NUL/);
        const e2 = await rejects(c.admin.createBucket({ name: "b\u0000" }, org.adminToken), Code.InvalidArgument, "a NUL in a bucket name");
        assert.match(e2.rawMessage, /^name contains a NUL/);
        await rejects(c.admin.getToken({ id: "\u0000" }, org.adminToken), Code.InvalidArgument, "a NUL as a token id");
        await stillServes();
      });
    }

    it("refuses a lone surrogate sent as Connect JSON, and a string over the field cap", async () => {
      const url = `/tessera.v1.TokenAdminService/CreateBucket`;
      const headers = { "content-type": "application/json", authorization: `Bearer ${org.adminToken}` };
      const surrogate = await h1(f.server.tessera.httpPort, url, headers, Buffer.from('{"name":"b\\ud800"}'));
      assert.equal(surrogate.status, 400);
      const body = JSON.parse(surrogate.body.toString()) as { code: string; message: string };
      assert.equal(body.code, "invalid_argument");
      // protobuf-es refuses it while decoding (request-text.ts would, after); its message names
      // the field, and the part that quoted the value is cut (client-faults.ts).
      assert.equal(body.message, "cannot decode field tessera.v1.CreateBucketRequest.name from JSON");
      assert.ok(!body.message.includes("\ud800") && !body.message.includes("b\\ud800"), "the message quotes the input");
      const long = await h1(f.server.tessera.httpPort, url, headers, Buffer.from(JSON.stringify({ name: "b".repeat(5000) })));
      assert.equal(long.status, 400);
      assert.doesNotMatch(long.body.toString(), /bbbb/);
    });
  });

  describe("request bodies that are not protobuf, on the HTTP port", () => {
    const bodies: Array<[string, Buffer]> = [
      ["a truncated string field", Buffer.from([0x0a, 0x05, 0x61, 0x62])],
      ["invalid UTF-8 in a string field", Buffer.from([0x0a, 0x02, 0xc3, 0x28])],
      ["an invalid wire type", Buffer.from([0x0f, 0x01])],
      ["field number 0", Buffer.from([0x00, 0x01])],
      ["an overlong varint", Buffer.from([0x08, ...Array<number>(11).fill(0xff), 0x01])],
    ];
    const port = () => f.server.tessera.httpPort;

    for (const [what, bytes] of bodies) {
      it(`answers INVALID_ARGUMENT for ${what} on Connect, gRPC-web and gRPC, over HTTP/1.1 and h2c`, async () => {
        const connect = { "content-type": "application/proto", "connect-protocol-version": "1" };
        for (const send of [h1, h2]) {
          const r = await send(port(), `${ADMIN}/Setup`, connect, bytes);
          assert.equal(r.status, 400, `Connect ${send.name}: HTTP ${r.status} ${r.body.toString()}`);
          const e = JSON.parse(r.body.toString()) as { code: string; message: string };
          assert.equal(e.code, "invalid_argument");
          assert.equal(e.message, "request is not a valid protobuf message");
        }
        const web = await h1(port(), `${ADMIN}/Setup`, { "content-type": "application/grpc-web+proto" }, frame(bytes));
        assert.deepEqual(grpcWebStatus(web.body), { code: Code.InvalidArgument, message: "request is not a valid protobuf message" });
        for (const send of [h1, h2]) {
          const g = await send(port(), `${ADMIN}/Setup`, { "content-type": "application/grpc", te: "trailers" }, frame(bytes));
          assert.deepEqual(
            grpcStatus(g),
            { code: Code.InvalidArgument, message: "request is not a valid protobuf message" },
            `gRPC ${send.name}`,
          );
        }
        // The same bytes to a server stream (past authentication: its body is read inside the call).
        const stream = await h1(
          port(),
          `${VERIFY}/WatchRevocations`,
          { "content-type": "application/connect+proto", "connect-protocol-version": "1", authorization: `Bearer ${f.inst.verifierToken}` },
          frame(bytes),
        );
        const end = endStreamError(stream.body);
        assert.deepEqual(end, { code: "invalid_argument", message: "request is not a valid protobuf message" });
        await stillServes();
      });
    }

    it("answers INVALID_ARGUMENT for a gzip body that does not decompress", async () => {
      const truncated = gzipSync(Buffer.from([0x0a, 0x03, 0x61, 0x62, 0x63])).subarray(0, 12);
      const r = await h1(
        port(),
        `${ADMIN}/Setup`,
        { "content-type": "application/proto", "content-encoding": "gzip", "connect-protocol-version": "1" },
        truncated,
      );
      assert.equal(r.status, 400, r.body.toString());
      assert.equal((JSON.parse(r.body.toString()) as { code: string }).code, "invalid_argument");
      const g = await h2(port(), `${ADMIN}/Setup`, { "content-type": "application/grpc", "grpc-encoding": "gzip" }, frame(truncated, 1));
      assert.equal(grpcStatus(g).code, Code.InvalidArgument);
    });
  });

  describe("what connect-es would quote or misname on the HTTP port", () => {
    const port = () => f.server.tessera.httpPort;
    const MARK = "zz-marker-77";

    it("answers an unknown encoding or a malformed timeout without quoting it", async () => {
      const connect = { "content-type": "application/json", "connect-protocol-version": "1" };
      const enc = await h1(port(), `${ADMIN}/Setup`, { ...connect, "content-encoding": MARK }, Buffer.from("{}"));
      assert.equal((JSON.parse(enc.body.toString()) as { code: string }).code, "unimplemented");
      const timeout = await h1(port(), `${ADMIN}/Setup`, { ...connect, "connect-timeout-ms": MARK }, Buffer.from("{}"));
      assert.equal((JSON.parse(timeout.body.toString()) as { code: string }).code, "invalid_argument");
      const grpcTimeout = await h2(
        port(),
        `${ADMIN}/Setup`,
        { "content-type": "application/grpc", "grpc-timeout": MARK },
        frame(Buffer.alloc(0)),
      );
      assert.equal(grpcStatus(grpcTimeout).code, Code.InvalidArgument);
      for (const r of [enc.body.toString(), timeout.body.toString(), grpcStatus(grpcTimeout).message])
        assert.ok(!r.includes(MARK), `quoted: ${r}`);
    });

    it("answers DEADLINE_EXCEEDED, not INTERNAL, to a WatchRevocations whose deadline passed before its cursor was refused", async () => {
      // The fuzzer's case: grpc-timeout 0n aborts the call at once, and the handler then throws
      // (a cursor it refuses); connect-node's own answer for the deadline is the one to give.
      const body = frame(
        Buffer.from(
          toBinary(WatchRevocationsRequestSchema, create(WatchRevocationsRequestSchema, { afterCursor: "243a9800.1.99\u000099" })),
        ),
      );
      const auth = { authorization: `Bearer ${f.inst.verifierToken}` };
      for (const [what, headers, status] of [
        [
          "gRPC-web over h2",
          { "content-type": "application/grpc-web+proto", ...auth },
          (r: Awaited<ReturnType<typeof h2>>) => grpcWebStatus(r.body),
        ],
        ["gRPC over h2", { "content-type": "application/grpc", ...auth }, grpcStatus],
      ] as const) {
        const late = status(await h2(port(), `${VERIFY}/WatchRevocations`, { ...headers, "grpc-timeout": "0n" }, body));
        assert.equal(late.code, Code.DeadlineExceeded, `${what}: ${JSON.stringify(late)}`);
        const inTime = status(await h2(port(), `${VERIFY}/WatchRevocations`, { ...headers, "grpc-timeout": "5S" }, body));
        assert.equal(inTime.code, Code.InvalidArgument, `${what}: ${JSON.stringify(inTime)}`);
        assertCleanMessage(inTime.message, what);
      }
      await stillServes();
    });

    it("answers INVALID_ARGUMENT, not UNIMPLEMENTED, for a cut-off frame", async () => {
      const r = await h2(port(), `${ADMIN}/Setup`, { "content-type": "application/grpc" }, Buffer.from([0, 0, 0, 0, 1]));
      assert.deepEqual(grpcStatus(r), { code: Code.InvalidArgument, message: "request body holds no complete message" });
    });

    it("answers a JSON body with a lone surrogate in gRPC and gRPC-web framing with INVALID_ARGUMENT", async () => {
      const body = frame(Buffer.from('{"pageSize":"\\ud800"}'));
      const web = await h1(
        port(),
        `${ADMIN}/ListOrganizations`,
        { "content-type": "application/grpc-web+json", authorization: `Bearer ${f.inst.operatorToken}` },
        body,
      );
      assert.equal(grpcWebStatus(web.body).code, Code.InvalidArgument);
      const grpc = await h2(
        port(),
        `${ADMIN}/ListOrganizations`,
        { "content-type": "application/grpc+json", authorization: `Bearer ${f.inst.operatorToken}` },
        body,
      );
      assert.equal(grpcStatus(grpc).code, Code.InvalidArgument);
      await stillServes();
    });
  });

  describe("gRPC-port headers and frames grpc-js answers badly by itself", () => {
    const port = () => f.server.tessera.grpcPort;
    const verifyBody = () =>
      toBinary(
        VerifyRequestSchema,
        create(VerifyRequestSchema, { credential: org.defaultTokenValue, organization: org.identifier, endpoint: EndpointClass.INGEST }),
      );
    const grpcHeaders = (extra: Record<string, string> = {}) => ({
      "content-type": "application/grpc",
      authorization: `Bearer ${f.inst.verifierToken}`,
      ...extra,
    });

    it("answers INVALID_ARGUMENT for a malformed grpc-timeout, without quoting it", async () => {
      for (const timeout of ["abc", "abc1S", "123456789S", "5 S", "-1S"]) {
        const r = await h2(port(), `${VERIFY}/Verify`, grpcHeaders({ "grpc-timeout": timeout }), frame(verifyBody()));
        const s = grpcStatus(r);
        assert.equal(s.code, Code.InvalidArgument, `grpc-timeout ${timeout}: ${JSON.stringify(s)}`);
        assert.ok(!s.message.includes(timeout), "the message quotes the header");
      }
      const ok = await h2(port(), `${VERIFY}/Verify`, grpcHeaders({ "grpc-timeout": "5S" }), frame(verifyBody()));
      assert.equal(grpcStatus(ok).code, 0);
    });

    it("answers INVALID_ARGUMENT for a compressed frame that is not gzip, and still takes real gzip", async () => {
      const bad = await h2(port(), `${VERIFY}/Verify`, grpcHeaders({ "grpc-encoding": "gzip" }), frame(Buffer.from("not gzip at all"), 1));
      assert.deepEqual(grpcStatus(bad), { code: Code.InvalidArgument, message: "request message could not be decompressed" });
      const good = await h2(port(), `${VERIFY}/Verify`, grpcHeaders({ "grpc-encoding": "gzip" }), frame(gzipSync(verifyBody()), 1));
      assert.equal(grpcStatus(good).code, 0);
      const answer = fromBinary(VerifyResponseSchema, good.body.subarray(5));
      assert.equal(answer.status, VerifyStatus.VALID);
    });

    it("answers INVALID_ARGUMENT for a cut-off frame, an empty body and two messages to a unary method", async () => {
      const one = frame(verifyBody());
      for (const [what, body] of [
        ["a frame header cut short", Buffer.from([0, 0])],
        ["a frame promising more than it holds", one.subarray(0, one.length - 3)],
        ["no body at all", Buffer.alloc(0)],
        ["two messages", Buffer.concat([one, one])],
      ] as const) {
        const r = await h2(port(), `${VERIFY}/Verify`, grpcHeaders(), body);
        const s = grpcStatus(r);
        assert.equal(s.code, Code.InvalidArgument, `${what}: ${JSON.stringify(s)}`);
        assertCleanMessage(s.message, what);
        assert.doesNotMatch(s.message, /tessera\.v1|Verify/, `${what}: the message names the method`);
      }
      await stillServes();
    });

    it("answers UNIMPLEMENTED for an unknown encoding or method without quoting either", async () => {
      const br = await h2(port(), `${VERIFY}/Verify`, grpcHeaders({ "grpc-encoding": "zz-marker" }), frame(Buffer.from([1, 2, 3]), 1));
      assert.equal(grpcStatus(br).code, Code.Unimplemented);
      assert.doesNotMatch(grpcStatus(br).message, /zz-marker/);
      const nope = await h2(port(), "/tessera.v1.Nope/ZzMarker", grpcHeaders(), frame(Buffer.alloc(0)));
      assert.equal(grpcStatus(nope).code, Code.Unimplemented);
      assert.doesNotMatch(grpcStatus(nope).message, /ZzMarker|Nope/);
      assertCleanMessage(grpcStatus(nope).message);
      await stillServes();
    });
  });

  describe("two authorization headers", () => {
    const getOrg = toBinary(GetOrganizationRequestSchema, create(GetOrganizationRequestSchema, {}));
    const good = () => `authorization: Bearer ${f.inst.operatorToken}`;
    const other = () => `authorization: Bearer ${org.adminToken}`;
    /** GetOrganization through curl, which sends headers exactly as given. */
    const connectCall = (wire: string[], headers: string[]) =>
      curl([
        ...wire,
        "-i",
        "-X",
        "POST",
        "-H",
        "content-type: application/json",
        ...headers.flatMap((h) => ["-H", h]),
        "--data",
        "{}",
        `http://127.0.0.1:${f.server.tessera.httpPort}${ADMIN}/GetOrganization`,
      ]);
    const grpcCall = (headers: string[]) =>
      curl(
        [
          "--http2-prior-knowledge",
          "-i",
          "-X",
          "POST",
          "-H",
          "content-type: application/grpc",
          "-H",
          "te: trailers",
          ...headers.flatMap((h) => ["-H", h]),
          "--data-binary",
          "@-",
          `http://127.0.0.1:${f.server.tessera.grpcPort}${ADMIN}/GetOrganization`,
        ],
        frame(getOrg),
      );

    for (const order of ["the valid one first", "the valid one last"]) {
      const pair = () => (order === "the valid one first" ? [good(), other()] : [other(), good()]);
      for (const http of ["HTTP/1.1", "h2c"]) {
        it(`are UNAUTHENTICATED over Connect on the HTTP port, ${http}, ${order}`, async () => {
          const out = await connectCall(http === "h2c" ? ["--http2-prior-knowledge"] : ["--http1.1"], pair());
          assert.match(out, /^HTTP\/[\d.]+ 401/m, out.slice(0, 200));
          assert.match(out, /"code":"unauthenticated"/);
          assert.match(out, /several authorization headers/);
        });
      }
      it(`are UNAUTHENTICATED on the gRPC port, ${order}`, async () => {
        const out = await grpcCall(pair());
        assert.match(out, /grpc-status: 16/, out.slice(0, 400));
      });
    }

    it("refuse on the gRPC port an authorization value grpc-js would drop, rather than serve the call as anonymous", async () => {
      const out = await grpcCall(["authorization: Bearer \u00ff\u00fe"]);
      assert.match(out, /grpc-status: 16/, out.slice(0, 400));
    });

    it("still accepts one authorization header through curl on both ports", async () => {
      assert.match(await connectCall([], [good()]), /^HTTP\/[\d.]+ 200/m);
      assert.match(await grpcCall([good()]), /grpc-status: 0/);
    });
  });
});

/**
 * Bad input (issue 2): each gets the right code and a clean message (no stack, no SQL, no paths),
 * and the server answers a good request right after. Through every client, plus raw bytes where
 * a real client refuses to send what an attacker could.
 */
import assert from "node:assert/strict";
import net from "node:net";
import * as grpc from "@grpc/grpc-js";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { EndpointClass, Role, Signal, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { TokenAdminService } from "../../src/gen/tessera/v1/token_admin_service_pb.js";
import { VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { generateToken } from "../../src/domain/token-format.js";
import { createGrpcClient } from "../../src/wire/grpc-client.js";
import type { Clients } from "../helpers/clients.js";
import { addMember, createOrg, type SeededOrg } from "../helpers/seed.js";
import { assertCleanMessage, basic, byName, flipOne, rejects, transportNames } from "./support.js";
import { useSetUpServer } from "../helpers/fixture.js";

const b64 = (s: string) => Buffer.from(s, "latin1").toString("base64");
const MiB = 1024 * 1024;

describe("bad input", () => {
  const f = useSetUpServer();

  for (const name of transportNames()) {
    describe(name, () => {
      let c: Clients;
      let org: SeededOrg;
      let n = 0;

      /** A good request right after a bad one: the server is still serving. */
      const stillServes = async (after: string) => {
        const r = await c.verify
          .verify({ credential: org.defaultTokenValue, organization: org.identifier, endpoint: EndpointClass.INGEST }, f.inst.verifierToken)
          .catch((err: unknown) => assert.fail(`the good request right after ${after} failed: ${String(err)}`));
        assert.equal(r.status, VerifyStatus.VALID, `the server stopped answering well after ${after}`);
      };
      const bad = async (p: Promise<unknown>, code: Code | Code[], what: string) => {
        const err = await rejects(p, code, what);
        await stillServes(what);
        return err;
      };
      const verifyStatus = async (credential: string, extra: { endpoint?: EndpointClass; organization?: string } = {}) => {
        const r = await c.verify.verify(
          { credential, organization: org.identifier, endpoint: EndpointClass.INGEST, ...extra },
          f.inst.verifierToken,
        );
        await stillServes(`Verify(${JSON.stringify(credential.slice(0, 40))})`);
        return r;
      };

      before(async () => {
        c = byName(f.clients, name);
        org = await createOrg(c, f.inst.operatorToken);
      });

      it("refuses invalid and over-long token names with INVALID_ARGUMENT", async () => {
        const names = [
          "",
          "a b",
          "näme",
          "a/b",
          "a.b",
          "tab\tname",
          "new\nline",
          "nul\0",
          "'; DROP TABLE tokens; --",
          "x".repeat(257),
          "é".repeat(200),
        ];
        for (const tokenName of names) {
          await bad(
            c.admin.createToken({ name: tokenName, kind: TokenKind.INGESTION }, org.adminToken),
            Code.InvalidArgument,
            `name ${JSON.stringify(tokenName.slice(0, 30))}`,
          );
        }
        const longest = await c.admin.createToken({ name: "y".repeat(256), kind: TokenKind.INGESTION }, org.adminToken);
        assert.equal(longest.token!.name.length, 256, "256 characters is allowed");
        await bad(
          c.admin.createToken({ name: `ok-${++n}`, description: "bad\u202edescription", kind: TokenKind.INGESTION }, org.adminToken),
          Code.InvalidArgument,
          "a bidi override in the description",
        );
        await bad(
          c.admin.createToken({ name: `ok-${++n}`, description: "d".repeat(1025), kind: TokenKind.INGESTION }, org.adminToken),
          Code.InvalidArgument,
          "a description over 1024 characters",
        );
        await bad(
          c.admin.updateToken({ id: org.defaultTokenId, description: "line\r\nbreak" }, org.adminToken),
          Code.InvalidArgument,
          "CR/LF in an updated description",
        );
      });

      it("refuses unknown kinds, roles and signals with INVALID_ARGUMENT", async () => {
        await bad(c.admin.createToken({ name: `k-${++n}`, kind: 99 as TokenKind }, org.adminToken), Code.InvalidArgument, "kind 99");
        await bad(
          c.admin.createToken({ name: `k-${++n}`, kind: TokenKind.UNSPECIFIED }, org.adminToken),
          Code.InvalidArgument,
          "kind unspecified",
        );
        await bad(c.admin.createToken({ name: `k-${++n}`, kind: -1 as TokenKind }, org.adminToken), Code.InvalidArgument, "kind -1");
        await bad(c.admin.listTokens({ kind: 99 as TokenKind }, org.adminToken), Code.InvalidArgument, "ListTokens kind 99");
        await bad(
          c.admin.createToken({ name: `k-${++n}`, kind: TokenKind.INGESTION, permissions: { signals: [99 as Signal] } }, org.adminToken),
          Code.InvalidArgument,
          "signal 99",
        );
        await bad(c.admin.createUser({ name: `role-${++n}`, role: 99 as Role }, org.adminToken), Code.InvalidArgument, "role 99");
        const userId = await addMember(c, org.adminToken, org.orgId, Role.VIEWER);
        await bad(c.admin.setMembership({ userId, role: 99 as Role }, org.adminToken), Code.InvalidArgument, "SetMembership role 99");
        await bad(
          c.admin.createToken({ name: `k-${++n}`, kind: TokenKind.ALL_ACCESS, permissions: { signals: [Signal.LOGS] } }, org.adminToken),
          Code.InvalidArgument,
          "ingestion permissions on an ALL_ACCESS token",
        );
        await bad(
          c.admin.createToken({ name: `k-${++n}`, kind: TokenKind.INGESTION, userId }, org.adminToken),
          Code.InvalidArgument,
          "user_id on an organization-owned kind",
        );
        const names = (await c.admin.listTokens({}, org.adminToken)).tokens.map((t) => t.name);
        assert.ok(!names.some((x) => x.startsWith("k-")), "nothing was created");
      });

      it("refuses shared tokens without an expiry or dashboards, and read-write tokens without buckets", async () => {
        await bad(
          c.admin.createToken({ name: `s-${++n}`, kind: TokenKind.SHARED, permissions: { dashboards: ["d"] } }, org.adminToken),
          Code.InvalidArgument,
          "SHARED without expiry",
        );
        await bad(
          c.admin.createToken(
            { name: `s-${++n}`, kind: TokenKind.SHARED, expireTime: timestampFromMs(Date.now() + 3_600_000) },
            org.adminToken,
          ),
          Code.InvalidArgument,
          "SHARED without dashboards",
        );
        await bad(
          c.admin.createToken(
            { name: `s-${++n}`, kind: TokenKind.INGESTION, expireTime: { seconds: 10_000_000_000_000n, nanos: 0 } },
            org.adminToken,
          ),
          Code.InvalidArgument,
          "an expiry beyond the representable range",
        );
        await bad(
          c.admin.createToken({ name: `s-${++n}`, kind: TokenKind.READ_WRITE, userId: org.adminUserId }, org.adminToken),
          Code.InvalidArgument,
          "READ_WRITE without buckets",
        );
        await bad(
          c.admin.createToken(
            {
              name: `s-${++n}`,
              kind: TokenKind.READ_WRITE,
              userId: org.adminUserId,
              permissions: { bucketAccess: [{ bucket: "no-such-bucket", read: true }] },
            },
            org.adminToken,
          ),
          Code.InvalidArgument,
          "READ_WRITE on a missing bucket",
        );
      });

      it("answers INVALID_ARGUMENT for ids that are not UUIDs", async () => {
        const ids = ["", "abc", "123", "' OR 1=1 --", `${org.defaultTokenId}x`, `${org.defaultTokenId.slice(0, -1)}g`, "x".repeat(5000)];
        for (const id of ids) {
          const w = JSON.stringify(id.slice(0, 30));
          await bad(c.admin.getToken({ id }, org.adminToken), Code.InvalidArgument, `GetToken ${w}`);
          await bad(c.admin.updateToken({ id, description: "x" }, org.adminToken), Code.InvalidArgument, `UpdateToken ${w}`);
          await bad(c.admin.setTokenEnabled({ id, enabled: false }, org.adminToken), Code.InvalidArgument, `SetTokenEnabled ${w}`);
          await bad(c.admin.rotateToken({ id }, org.adminToken), Code.InvalidArgument, `RotateToken ${w}`);
          await bad(c.admin.deleteToken({ id }, org.adminToken), Code.InvalidArgument, `DeleteToken ${w}`);
          await bad(c.admin.deleteUser({ id }, f.inst.operatorToken), Code.InvalidArgument, `DeleteUser ${w}`);
          await bad(c.admin.setMembership({ userId: id, role: Role.VIEWER }, org.adminToken), Code.InvalidArgument, `SetMembership ${w}`);
          await bad(c.admin.removeMembership({ userId: id }, org.adminToken), Code.InvalidArgument, `RemoveMembership ${w}`);
          await bad(c.admin.getUser({ id }, org.adminToken), Code.InvalidArgument, `GetUser ${w}`);
          if (id === "") continue; // empty organization ids mean "the caller's own"
          await bad(
            c.admin.updateOrganization({ organization: { id, name: "x" }, updateMask: { paths: ["name"] } }, org.adminToken),
            Code.InvalidArgument,
            `UpdateOrganization ${w}`,
          );
          await bad(c.admin.listUsers({ organizationId: id }, org.adminToken), Code.InvalidArgument, `ListUsers ${w}`);
          await bad(c.admin.listMemberships({ organizationId: id }, org.adminToken), Code.InvalidArgument, `ListMemberships ${w}`);
          await bad(c.admin.deleteBucket({ organizationId: id, name: "b" }, org.adminToken), Code.InvalidArgument, `DeleteBucket ${w}`);
          await bad(c.admin.getOrganization({ id }, org.adminToken), Code.InvalidArgument, `GetOrganization ${w}`);
          await bad(c.admin.listTokens({ organizationId: id }, org.adminToken), Code.InvalidArgument, `ListTokens organization ${w}`);
          await bad(c.admin.listTokens({ ownerUserId: id }, org.adminToken), Code.InvalidArgument, `ListTokens owner ${w}`);
          await bad(c.admin.listBuckets({ organizationId: id }, org.adminToken), Code.InvalidArgument, `ListBuckets ${w}`);
          await bad(c.admin.getPasscode({ organizationId: id }, org.adminToken), Code.InvalidArgument, `GetPasscode ${w}`);
          await bad(
            c.admin.createToken({ organizationId: id, name: `u-${++n}`, kind: TokenKind.INGESTION }, org.adminToken),
            Code.InvalidArgument,
            `CreateToken organization ${w}`,
          );
          await bad(
            c.admin.createOrganization({ identifier: `u-${++n}`, parentId: id }, org.adminToken),
            Code.InvalidArgument,
            `CreateOrganization parent ${w}`,
          );
        }
      });

      it("refuses bad update masks, name prefixes and page tokens used with other filters with INVALID_ARGUMENT", async () => {
        for (const paths of [["identifier"], ["colour"], ["*"], ["name", "name\u0000"], ["'; DROP TABLE organizations; --"]]) {
          await bad(
            c.admin.updateOrganization({ organization: { name: "x" }, updateMask: { paths } }, org.adminToken),
            Code.InvalidArgument,
            `UpdateOrganization mask ${JSON.stringify(paths)}`,
          );
        }
        for (const paths of [["permissions"], ["kind"], ["name"], ["expireTime"]]) {
          await bad(
            c.admin.updateToken({ id: org.defaultTokenId, updateMask: { paths } }, org.adminToken),
            Code.InvalidArgument,
            `UpdateToken mask ${JSON.stringify(paths)}`,
          );
        }
        await bad(
          c.admin.updateToken(
            { id: org.defaultTokenId, updateMask: { paths: ["expire_time"] }, expireTime: timestampFromMs(1000) },
            org.adminToken,
          ),
          Code.InvalidArgument,
          "an expiry in 1970",
        );
        for (const namePrefix of ["a%", "a_%", "x".repeat(257), "a b", "ä"]) {
          await bad(
            c.admin.listTokens({ namePrefix }, org.adminToken),
            Code.InvalidArgument,
            `name prefix ${JSON.stringify(namePrefix.slice(0, 20))}`,
          );
        }
        const page = await c.admin.listTokens({ pageSize: 1, enabled: true }, org.adminToken);
        assert.notEqual(page.nextPageToken, "");
        const err = await bad(
          c.admin.listTokens({ pageSize: 1, enabled: false, pageToken: page.nextPageToken }, org.adminToken),
          Code.InvalidArgument,
          "a page token with other filters",
        );
        assert.match(err.rawMessage, /page_token does not match the request's filters/);
        const huge = await c.admin.listMemberships({ pageSize: 2_147_483_647 }, org.adminToken);
        assert.ok(huge.members.length >= 1, "a huge page size is capped, not refused");
        await bad(c.admin.listUsers({ pageSize: -1 }, org.adminToken), Code.InvalidArgument, "a negative page size");
      });

      it("Verify answers MALFORMED for malformed credentials, including CR, LF and NUL inside", async () => {
        const t = org.defaultTokenValue;
        const creds = [
          "",
          "Bearer",
          "Basic",
          `Digest ${t}`,
          `Bearer ${t} extra`,
          "Basic !!!!",
          "Basic YWJj", // "abc": no colon
          `Basic ${b64(`${org.identifier}:${t}`).slice(0, -1)}`, // broken padding
          `Basic ${b64(`${org.identifier}:${t}\r\nX-Injected: 1`)}`,
          `Basic ${b64(`${org.identifier}:${t}\0`)}`,
          `Basic ${b64(`${org.identifier}\n:${t}`)}`,
          `Basic ${b64(`${org.identifier}:`)}`,
          `Bearer ${t}\r\nX-Injected: 1`,
          `${t}\n`,
          `${t}\0`,
          `Bearer ${t.slice(0, 20)}\0${t.slice(20)}`,
          `\r\n${t}`,
          flipOne(t, 5),
          flipOne(t, 20),
          flipOne(t, 36),
          flipOne(t, 37),
          flipOne(t, 42),
          t.slice(0, 31),
          `Bearer ${"o2oi_".padEnd(5000, "A")}`,
          "tök",
        ];
        for (const credential of creds) {
          const r = await verifyStatus(credential);
          assert.equal(
            r.status,
            VerifyStatus.MALFORMED,
            `credential ${JSON.stringify(credential.slice(0, 60))}: got ${VerifyStatus[r.status]}`,
          );
          assert.equal(r.allowed, false);
          assert.equal(r.principal, undefined);
        }
        for (const endpoint of [EndpointClass.UNSPECIFIED, 99 as EndpointClass]) {
          const r = await verifyStatus(t, { endpoint });
          assert.equal(r.status, VerifyStatus.MALFORMED, `endpoint ${endpoint}`);
        }
        // A Tessera token one character short or long, or upper-cased, has an imported value's
        // shape (32 to 512 printable characters, no Tessera prefix and length): not found.
        for (const credential of [t.slice(0, -1), `${t}x`, t.toUpperCase()]) {
          const r = await verifyStatus(credential);
          assert.equal(r.status, VerifyStatus.NOT_FOUND, `credential of ${credential.length} characters: got ${VerifyStatus[r.status]}`);
          assert.equal(r.principal, undefined);
        }
      });

      it("a token with one character changed is MALFORMED to Verify and UNAUTHENTICATED as a Bearer credential", async () => {
        for (const at of [5, 12, 30, 36, 37, 40, 42]) {
          const wrong = flipOne(org.adminToken, at);
          const r = await verifyStatus(wrong, { endpoint: EndpointClass.QUERY });
          assert.equal(r.status, VerifyStatus.MALFORMED, `position ${at}`);
          await bad(c.admin.listTokens({}, wrong), Code.Unauthenticated, `Bearer with position ${at} changed`);
          await bad(
            c.verify.verify({ credential: org.defaultTokenValue, endpoint: EndpointClass.INGEST }, flipOne(f.inst.verifierToken, at)),
            Code.Unauthenticated,
            `verifier with position ${at} changed`,
          );
        }
        await bad(c.admin.listTokens({}, generateToken("ALL_ACCESS")), Code.Unauthenticated, "a well-formed unknown token");
      });

      it("of 20 concurrent creates of one name exactly one succeeds and the rest answer ALREADY_EXISTS", async () => {
        const tokenName = `race-${++n}`;
        const results = await Promise.allSettled(
          Array.from({ length: 20 }, () => c.admin.createToken({ name: tokenName, kind: TokenKind.INGESTION }, org.adminToken)),
        );
        const ok = results.filter((r) => r.status === "fulfilled");
        assert.equal(ok.length, 1, "exactly one succeeds");
        for (const r of results) {
          if (r.status === "rejected") {
            const e = ConnectError.from(r.reason);
            assert.equal(e.code, Code.AlreadyExists, `${Code[e.code]}: ${e.rawMessage}`);
            assertCleanMessage(e.rawMessage, "ALREADY_EXISTS");
          }
        }
        const list = await c.admin.listTokens({}, org.adminToken);
        assert.equal(list.tokens.filter((t) => t.name === tokenName).length, 1);
        await stillServes("the race");
      });

      it("refuses messages over 4 MiB with RESOURCE_EXHAUSTED", async () => {
        await bad(
          c.admin.createToken({ name: `big-${++n}`, description: "d".repeat(5 * MiB), kind: TokenKind.INGESTION }, org.adminToken),
          Code.ResourceExhausted,
          "a 5 MiB CreateToken",
        );
        await bad(
          c.verify.verify({ credential: "x".repeat(5 * MiB), endpoint: EndpointClass.INGEST }, f.inst.verifierToken),
          Code.ResourceExhausted,
          "a 5 MiB Verify",
        );
        // Under the cap the size is not the problem, the content is.
        await bad(
          c.admin.createToken({ name: `big-${++n}`, description: "d".repeat(3 * MiB), kind: TokenKind.INGESTION }, org.adminToken),
          Code.InvalidArgument,
          "a 3 MiB description",
        );
        const r = await verifyStatus("x".repeat(3 * MiB));
        assert.equal(r.status, VerifyStatus.MALFORMED, "a 3 MiB credential");
      });

      it("keeps serving a connection after a burst of oversized messages on it", async () => {
        // Over HTTP/2 every call shares one connection: the unread rest of each refused body must
        // not pile up on it until the session refuses everything (ENHANCE_YOUR_CALM).
        for (let i = 1; i <= 12; i++) {
          await rejects(
            c.verify.verify({ credential: "x".repeat(5 * MiB), endpoint: EndpointClass.INGEST }, f.inst.verifierToken),
            Code.ResourceExhausted,
            `5 MiB Verify #${i} of 12`,
          );
        }
        await stillServes("12 oversized Verify calls in a row");
      });
    });
  }

  describe("malformed authorization headers", () => {
    let org: SeededOrg;
    before(async () => {
      org = await createOrg(f.clients[0]!, f.inst.operatorToken);
    });

    /** The same bad header values through grpc-js metadata and a Connect HTTP/1.1 header. */
    const headerValues = (): Array<[string, string]> => {
      const t = org.adminToken;
      return [
        ["bad base64", "Basic !!!!"],
        ["base64 with a space", "Basic YWJj ZGVm"],
        ["no colon", `Basic ${b64(t)}`],
        ["CR/LF inside Basic", `Basic ${b64(`${org.identifier}:${t}\r\nX-Injected: 1`)}`],
        ["NUL inside Basic", `Basic ${b64(`${org.identifier}:${t}\0`)}`],
        ["empty Basic token", `Basic ${b64(`${org.identifier}:`)}`],
        ["scheme only", "Bearer"],
        ["unknown scheme", `Digest ${t}`],
        ["two words", `Bearer ${t} ${t}`],
        ["changed checksum", `Bearer ${flipOne(t, 40)}`],
        ["wrong organization in Basic", basic("no-such-org", t)],
      ];
    };

    it("are UNAUTHENTICATED with a clean message over grpc-js, and the server keeps serving", async () => {
      const raw = createGrpcClient(TokenAdminService, `127.0.0.1:${f.server.tessera.grpcPort}`);
      try {
        for (const [label, value] of headerValues()) {
          await rejects(raw.getPasscode({}, { metadata: { authorization: value } }), Code.Unauthenticated, label);
          const ok = await raw.getPasscode({}, { metadata: { authorization: `Bearer ${org.adminToken}` } });
          assert.equal(ok.organizationIdentifier, org.identifier, `still serving after ${label}`);
        }
        const good = await raw.getPasscode({}, { metadata: { authorization: basic(org.identifier, org.adminToken) } });
        assert.equal(good.token!.id, org.defaultTokenId, "a well-formed Basic credential is accepted");
      } finally {
        raw.close();
      }
    });

    it("are UNAUTHENTICATED with a clean message over Connect HTTP/1.1, tab included", async () => {
      const transport = createConnectTransport({ baseUrl: `http://127.0.0.1:${f.server.tessera.httpPort}`, httpVersion: "1.1" });
      const client = createClient(TokenAdminService, transport);
      const values = [
        ...headerValues(),
        ["a tab inside", `Bearer ${org.adminToken.slice(0, 10)}\t${org.adminToken.slice(10)}`] as [string, string],
      ];
      for (const [label, value] of values) {
        await rejects(client.getPasscode({}, { headers: { authorization: value } }), Code.Unauthenticated, label);
        const ok = await client.getPasscode({}, { headers: { authorization: `Bearer ${org.adminToken}` } });
        assert.equal(ok.organizationIdentifier, org.identifier, `still serving after ${label}`);
      }
    });

    it("with raw CR, LF or NUL bytes never reach a handler over HTTP/1.1, and the server keeps serving", async () => {
      // Real f.clients refuse to send these bytes; an attacker's socket does not.
      const t = org.adminToken;
      for (const [label, value] of [
        ["NUL", `Bearer ${t.slice(0, 10)}\0${t.slice(10)}`],
        ["CR", `Bearer ${t.slice(0, 10)}\r${t.slice(10)}`],
        ["LF", `Bearer ${t.slice(0, 10)}\nX-Injected: ${t.slice(10)}`],
        ["CRLF splitting the token", `Bearer ${t.slice(0, 10)}\r\nX-Injected: ${t.slice(10)}`],
      ] as const) {
        const body = "{}";
        const request =
          `POST /tessera.v1.TokenAdminService/GetPasscode HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${body.length}\r\nConnection: close\r\nAuthorization: ${value}\r\n\r\n${body}`;
        const response = await rawHttp(f.server.tessera.httpPort, request);
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
        // Either the parser refuses the request (400) or the request arrives with a truncated
        // header that authenticates nobody (401); never a 200 with the organization's data.
        assert.ok(status >= 400, `${label}: got HTTP ${status}`);
        assert.ok(!response.includes(org.defaultTokenId), `${label}: the response carries data`);
        assert.ok(!response.includes("    at "), `${label}: stack trace in the response`);
        const c = f.clients[1]!;
        const ok = await c.admin.getPasscode({}, org.adminToken);
        assert.equal(ok.organizationIdentifier, org.identifier, `still serving after ${label}`);
      }
    });
  });

  describe("undecodable requests", () => {
    it("a gRPC request that is not a protobuf message is INVALID_ARGUMENT", async () => {
      const client = new grpc.Client(`127.0.0.1:${f.server.tessera.grpcPort}`, grpc.credentials.createInsecure());
      try {
        const err = await new Promise<grpc.ServiceError>((resolve, reject) => {
          client.makeUnaryRequest(
            "/tessera.v1.TokenVerifyService/Verify",
            () => Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), // a field whose length runs past the end
            (b: Buffer) => b,
            {},
            new grpc.Metadata(),
            (e) => (e ? resolve(e) : reject(new Error("accepted"))),
          );
        });
        assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
        assertCleanMessage(err.details, "undecodable gRPC request");
      } finally {
        client.close();
      }
      const ok = await f.clients[0]!.admin.listOrganizations({}, f.inst.operatorToken);
      assert.ok(ok.organizations.length >= 1);
    });

    it("a Connect request with broken JSON is INVALID_ARGUMENT with a clean message", async () => {
      for (const body of ["{not json", '{"id": 5}', '{"noSuchField": true}', "[]"]) {
        const res = await fetch(`http://127.0.0.1:${f.server.tessera.httpPort}/tessera.v1.TokenAdminService/GetToken`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${f.inst.operatorToken}` },
          body,
        });
        const text = await res.text();
        assert.ok(res.status >= 400 && res.status < 500, `${body}: HTTP ${res.status}`);
        const parsed = JSON.parse(text) as { code?: string; message?: string };
        assert.equal(parsed.code, "invalid_argument", `${body}: ${text}`);
        assertCleanMessage(parsed.message ?? "", `broken JSON ${body}`);
      }
      const ok = await f.clients[1]!.admin.listOrganizations({}, f.inst.operatorToken);
      assert.ok(ok.organizations.length >= 1);
    });
  });
});

/** Sends `request` on a fresh socket and returns whatever comes back before the server closes it. */
/** Sends raw bytes on a new connection and resolves with everything received once the server closes it. */
function rawHttp(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    // Only a bound on how long a broken server takes to fail this test: the requests say
    // "Connection: close", and a refused one is closed at once.
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("the server neither answered nor closed the connection"));
    }, 20_000);
    socket.on("data", (d) => chunks.push(d));
    socket.on("error", (e) => {
      clearTimeout(timer);
      if (chunks.length > 0 || (e as NodeJS.ErrnoException).code === "ECONNRESET") resolve(Buffer.concat(chunks).toString("latin1"));
      else reject(e);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString("latin1"));
    });
    socket.write(request, "latin1");
  });
}

// gRPC-web's text mode (application/grpc-web-text, base64 framing) on the HTTP port of a real
// instance: through the official grpc-web client in a real browser (its XMLHttpRequest hands the
// client the response text as it arrives, which the client decodes message by message), and
// through a hand-written client for what the official one never sends: bodies in padded
// pieces, malformed base64, oversized and unauthenticated requests, HTTP/2.

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import http2 from "node:http2";
import { createRequire } from "node:module";
import {
  create,
  fromBinary,
  toBinary,
  type DescMessage,
  type DescService,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import type * as GrpcWeb from "grpc-web";
import { chromium, type Browser, type Page } from "playwright-core";
import { EndpointClass, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { TokenAdminService } from "../../src/gen/tessera/v1/token_admin_service_pb.js";
import {
  RevocationReason,
  TokenVerifyService,
  VerifyStatus,
  type WatchRevocationsResponse,
} from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { useSetUpServer } from "../helpers/fixture.js";
import { createOrg, issue, type SeededOrg } from "../helpers/seed.js";
import { PATIENCE_MS } from "../helpers/wait.js";
import { TEXT, decodeFrames, frame, readAll, textCall, type Frame, type TextResponse } from "./grpc-web-text-wire.js";

const RESPONSE_TYPE = "application/grpc-web-text+proto";
// Debian's chromium, as test/console uses it (test/tools/ensure-chromium.sh installs it).
const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const CAP = 4 * 1024 * 1024;

interface Method<I extends DescMessage, O extends DescMessage> {
  parent: DescService;
  name: string;
  input: I;
  output: O;
}

const pathOf = (m: Method<DescMessage, DescMessage>): string => `/${m.parent.typeName}/${m.name}`;
const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64");
/** One request message as a gRPC-web frame (base64 of it is the text-mode body). */
const body = <I extends DescMessage>(m: Method<I, DescMessage>, req: MessageInitShape<I>): Buffer =>
  frame(toBinary(m.input, create(m.input, req)));

const verify = TokenVerifyService.method.verify;
const watchRevocations = TokenVerifyService.method.watchRevocations;
const getToken = TokenAdminService.method.getToken;
const setTokenEnabled = TokenAdminService.method.setTokenEnabled;

describe("gRPC-web text mode on the HTTP port", () => {
  const f = useSetUpServer();
  let port = 0;
  let org: SeededOrg;
  before(async () => {
    port = f.server.tessera.httpPort;
    org = await createOrg(f.c, f.inst.operatorToken);
  });

  /** A fresh INGESTION token of `org`, for a test to disable. */
  const ingestionToken = async (): Promise<{ id: string; value: string }> => issue(f.c, org.adminToken, { kind: TokenKind.INGESTION });

  describe("through the official grpc-web client (format text) in a browser", () => {
    let browser: Browser;
    let page: Page;
    before(async () => {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
      page = await browser.newPage();
      page.setDefaultTimeout(PATIENCE_MS);
      // A blank page of the HTTP port's origin (Tessera sends no CORS headers), answered by the
      // browser's router, never by Tessera; then the client's own CommonJS bundle, as it ships.
      const origin = `http://127.0.0.1:${port}`;
      await page.route(`${origin}/grpc-web-text-test`, (route) =>
        route.fulfill({ contentType: "text/html", body: "<!doctype html><title>t</title>" }),
      );
      await page.goto(`${origin}/grpc-web-text-test`);
      const bundle = await readFile(createRequire(import.meta.url).resolve("grpc-web"), "utf8");
      await page.addScriptTag({ content: `(function (exports) {\n${bundle}\n})(window.grpcWeb = {});` });
    });
    after(async () => {
      await browser?.close();
    });

    /** A unary call made by the page; the response message, or the client's error. */
    const unary = async <I extends DescMessage, O extends DescMessage>(
      m: Method<I, O>,
      req: MessageInitShape<I>,
      token?: string,
    ): Promise<MessageShape<O>> => {
      const r = await page.evaluate(
        async ({ path, request, metadata }) => {
          const { GrpcWebClientBase, MethodDescriptor } = (globalThis as unknown as { grpcWeb: typeof GrpcWeb }).grpcWeb;
          // Messages go in and out as bytes: protobuf-es encodes and decodes them on the Node side.
          const bytes = (b: Uint8Array): Uint8Array => b;
          const desc = new MethodDescriptor<Uint8Array, Uint8Array>(path, "unary", Uint8Array as never, Uint8Array as never, bytes, bytes);
          try {
            const res = await new GrpcWebClientBase({ format: "text" }).unaryCall(path, Uint8Array.from(request), metadata, desc);
            return { bytes: Array.from(res) };
          } catch (e) {
            const err = e as GrpcWeb.RpcError;
            return { code: err.code, message: err.message };
          }
        },
        {
          path: pathOf(m),
          request: Array.from(toBinary(m.input, create(m.input, req))),
          metadata: token === undefined ? {} : bearer(token),
        },
      );
      if (r.bytes === undefined) throw Object.assign(new Error(r.message), { code: r.code });
      return fromBinary(m.output, Uint8Array.from(r.bytes));
    };

    it("verifies a valid token", async () => {
      const token = await ingestionToken();
      const res = await unary(verify, { credential: token.value, endpoint: EndpointClass.INGEST }, f.inst.verifierToken);
      assert.equal(VerifyStatus[res.status], "VALID");
      assert.equal(res.principal?.tokenId, token.id);
    });

    it("answers admin calls, and Verify reports the token they disabled as DISABLED", async () => {
      const token = await ingestionToken();
      const set = await unary(setTokenEnabled, { id: token.id, enabled: false }, org.adminToken);
      assert.equal(set.token?.enabled, false);
      const got = await unary(getToken, { id: token.id }, org.adminToken);
      assert.equal(got.token?.id, token.id);
      assert.equal(got.token?.enabled, false);
      const res = await unary(verify, { credential: token.value, endpoint: EndpointClass.INGEST }, f.inst.verifierToken);
      assert.equal(VerifyStatus[res.status], "DISABLED");
    });

    it("streams WatchRevocations: an event made after the stream opened arrives while it stays open", async () => {
      const token = await ingestionToken();
      await f.server.tessera.deps.hub.wake(); // the stream starts past the token's creation
      const got: WatchRevocationsResponse[] = [];
      let ended: string | undefined;
      let arrived = (): void => undefined;
      const onMessage = (bytes: number[]): void => {
        got.push(fromBinary(watchRevocations.output, Uint8Array.from(bytes)));
        arrived();
      };
      const onEnd = (how: string): void => {
        ended = how;
        arrived();
      };
      await page.exposeFunction("tesseraMessage", onMessage);
      await page.exposeFunction("tesseraEnd", onEnd);
      const until = (pred: () => boolean, what: string): Promise<void> =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`${what}: not in time (${got.length} messages, end: ${ended})`)), PATIENCE_MS);
          arrived = () => {
            if (pred()) {
              clearTimeout(timer);
              resolve();
            }
          };
          arrived();
        });
      await page.evaluate(
        ({ path, request, metadata }) => {
          const w = globalThis as unknown as {
            grpcWeb: typeof GrpcWeb;
            stream?: GrpcWeb.ClientReadableStream<Uint8Array>;
            tesseraMessage(bytes: number[]): void;
            tesseraEnd(how: string): void;
          };
          const bytes = (b: Uint8Array): Uint8Array => b;
          const desc = new w.grpcWeb.MethodDescriptor<Uint8Array, Uint8Array>(
            path,
            "server_streaming",
            Uint8Array as never,
            Uint8Array as never,
            bytes,
            bytes,
          );
          const stream = new w.grpcWeb.GrpcWebClientBase({ format: "text" }).serverStreaming(
            path,
            Uint8Array.from(request),
            metadata,
            desc,
          );
          w.stream = stream;
          stream.on("data", (m) => w.tesseraMessage(Array.from(m)));
          stream.on("error", (e) => w.tesseraEnd(`error ${e.code}: ${e.message}`));
          stream.on("end", () => w.tesseraEnd("end"));
        },
        {
          path: pathOf(watchRevocations),
          request: Array.from(toBinary(watchRevocations.input, create(watchRevocations.input, {}))),
          metadata: bearer(f.inst.verifierToken),
        },
      );
      try {
        await until(() => got.length > 0 || ended !== undefined, "the first message");
        assert.equal(got[0]?.item.case, "checkpoint", `the stream opened (end: ${ended})`);
        await unary(setTokenEnabled, { id: token.id, enabled: false }, org.adminToken);
        const isEvent = (m: WatchRevocationsResponse): boolean => m.item.case === "event" && m.item.value.tokenId === token.id;
        await until(() => got.some(isEvent) || ended !== undefined, "the DISABLED event");
        const event = got.find(isEvent);
        assert.equal(event?.item.case === "event" && RevocationReason[event.item.value.reason], "DISABLED", `end: ${ended}`);
        assert.equal(ended, undefined, "the stream is still open");
      } finally {
        await page.evaluate(() => (globalThis as unknown as { stream?: GrpcWeb.ClientReadableStream<Uint8Array> }).stream?.cancel());
      }
    });

    it("fails a call without a token, or with a bad one, with UNAUTHENTICATED", async () => {
      for (const token of [undefined, "tsvf_not-a-token"]) {
        const err = await unary(verify, { credential: "x" }, token).then(
          () => assert.fail("the call succeeded"),
          (e: Error & { code?: number }) => e,
        );
        assert.equal(err.code, 16, err.message);
      }
    });
  });

  describe("through a hand-written client", () => {
    const verifyBody = (credential: string): Buffer => body(verify, { credential, endpoint: EndpointClass.INGEST });
    const call = (m: Method<DescMessage, DescMessage>, pieces: string[], headers: Record<string, string | string[]> = {}, type = TEXT) =>
      textCall(port, pathOf(m), pieces, headers, type);
    /** A call that must answer with a gRPC-web text response; its messages and status. */
    const answered = async (res: Promise<TextResponse>) => {
      const r = await res;
      assert.equal(r.status, 200);
      assert.equal(r.headers["content-type"], RESPONSE_TYPE);
      return { ...(await readAll(r)), text: r.text() };
    };
    const assertServes = async (): Promise<void> => {
      const token = await ingestionToken();
      const r = await answered(call(verify, [b64(verifyBody(token.value))], bearer(f.inst.verifierToken)));
      assert.equal(r.code, 0, r.message);
      assert.equal(VerifyStatus[fromBinary(verify.output, r.messages[0]!).status], "VALID");
    };

    for (const type of [TEXT, `${TEXT}+proto`]) {
      it(`answers Verify sent as ${type}, each response frame its own padded base64 chunk`, async () => {
        const token = await ingestionToken();
        const r = await answered(call(verify, [b64(verifyBody(token.value))], bearer(f.inst.verifierToken), type));
        assert.equal(r.code, 0, r.message);
        assert.equal(r.messages.length, 1);
        assert.equal(VerifyStatus[fromBinary(verify.output, r.messages[0]!).status], "VALID");
        // The message frame and the trailer frame, encoded one by one: padding after the first.
        assert.equal(r.text, b64(frame(r.messages[0]!)) + b64(frame(r.trailer.data, 0x80)));
      });
    }

    it("reads a body that arrives in pieces, with padding in the middle and none at the end", async () => {
      const token = await ingestionToken();
      const bytes = verifyBody(token.value);
      // The first 4 or 5 bytes on their own (padded), the rest unpadded, cut mid-group: the cut
      // is where it leaves a rest whose encoding needs padding.
      const cut = (bytes.length - 4) % 3 === 0 ? 5 : 4;
      const head = b64(bytes.subarray(0, cut));
      const rest = b64(bytes.subarray(cut)).replace(/=+$/, "");
      assert.match(head, /=$/);
      assert.notEqual(rest.length % 4, 0, "the body's last group has its padding left out");
      const r = await answered(
        call(verify, [head.slice(0, 3), head.slice(3), rest.slice(0, 7), rest.slice(7, 30), rest.slice(30)], bearer(f.inst.verifierToken)),
      );
      assert.equal(r.code, 0, r.message);
      assert.equal(VerifyStatus[fromBinary(verify.output, r.messages[0]!).status], "VALID");
    });

    it("streams WatchRevocations frame by frame: the DISABLED event of an admin call, while the stream stays open", async () => {
      const token = await ingestionToken();
      await f.server.tessera.deps.hub.wake();
      const res = await call(watchRevocations, [b64(body(watchRevocations, {}))], bearer(f.inst.verifierToken));
      assert.equal(res.status, 200);
      assert.equal(res.headers["content-type"], RESPONSE_TYPE);
      const frames = res.frames[Symbol.asyncIterator]();
      const next = async (): Promise<Frame> => {
        const n = await frames.next();
        assert.ok(n.done !== true, "the stream ended");
        assert.equal(n.value.flags, 0, "a message frame, not the trailer");
        return n.value;
      };
      try {
        const first = fromBinary(watchRevocations.output, (await next()).data);
        assert.equal(first.item.case, "checkpoint");
        // Decoded from what arrived so far: whole base64 groups, the stream still open.
        assert.equal(res.text().length % 4, 0);

        // The admin call through text mode too.
        const set = await answered(
          call(setTokenEnabled, [b64(body(setTokenEnabled, { id: token.id, enabled: false }))], bearer(org.adminToken)),
        );
        assert.equal(set.code, 0, set.message);
        assert.equal(fromBinary(setTokenEnabled.output, set.messages[0]!).token?.enabled, false);

        let event: WatchRevocationsResponse | undefined;
        const deadline = setTimeout(() => res.close(), PATIENCE_MS);
        try {
          while (event === undefined) {
            const msg = fromBinary(watchRevocations.output, (await next()).data);
            if (msg.item.case === "event" && msg.item.value.tokenId === token.id) event = msg;
          }
        } finally {
          clearTimeout(deadline);
        }
        assert.equal(event.item.case === "event" && RevocationReason[event.item.value.reason], "DISABLED");
      } finally {
        res.close();
      }

      const v = await answered(call(verify, [b64(verifyBody(token.value))], bearer(f.inst.verifierToken)));
      assert.equal(VerifyStatus[fromBinary(verify.output, v.messages[0]!).status], "DISABLED", "Verify of the disabled token");
    });

    it("answers malformed base64 with INVALID_ARGUMENT, quoting none of it, and keeps serving", async () => {
      const good = b64(verifyBody("tsvf_secretish"));
      for (const bad of [
        "@@@@", // not the alphabet
        `${good}*`, // a stray character after a good body
        "QUJD\r\nREVG", // a line break
        "AB=C", // padding inside a group
        "A===", // padding too soon
        "QUJDRA===", // a padding character after a complete group
        "QUJDR", // a lone character at the end
        good.replace(/^(.{8})/, "$1-_"), // base64url's characters
      ]) {
        const r = await answered(call(verify, [bad], bearer(f.inst.verifierToken)));
        assert.equal(r.code, 3, `${JSON.stringify(bad)}: ${r.message}`);
        assert.equal(r.message, "request body is not valid base64 (content type application/grpc-web-text)");
        assert.equal(r.messages.length, 0);
      }
      await assertServes();
    });

    it("answers a well-encoded body that holds no valid request with INVALID_ARGUMENT", async () => {
      for (const [pieces, message] of [
        [[], "request body holds no complete message"],
        [[b64(frame(Buffer.from([0xff, 0xff, 0xff])))], "request is not a valid protobuf message"],
        [[b64(Buffer.from([0, 0, 0]))], "protocol error: incomplete envelope"],
      ] as const) {
        const r = await answered(call(verify, [...pieces], bearer(f.inst.verifierToken)));
        assert.equal(r.code, 3, `${JSON.stringify(pieces)}: ${r.message}`);
        assert.equal(r.message, message);
      }
    });

    it("answers a decoded body over the 4 MiB cap with RESOURCE_EXHAUSTED and keeps serving", async () => {
      const huge = b64(verifyBody("x".repeat(CAP + 16)));
      const r = await answered(call(verify, [huge], bearer(f.inst.verifierToken)));
      assert.equal(r.code, 8, r.message);
      await assertServes();
    });

    it("refuses a call without a token, with a bad one, or with two authorization headers: UNAUTHENTICATED", async () => {
      const req = [b64(verifyBody("x"))];
      const cases: Array<Record<string, string | string[]>> = [
        {},
        { authorization: "Bearer tsvf_not-a-token" },
        { authorization: [`Bearer ${f.inst.verifierToken}`, `Bearer ${f.inst.verifierToken}`] },
      ];
      for (const headers of cases) {
        const r = await answered(call(verify, req, headers));
        assert.equal(r.code, 16, `${JSON.stringify(headers)}: ${r.message}`);
      }
    });

    it("serves text mode over h2c as well", async () => {
      const token = await ingestionToken();
      const session = http2.connect(`http://127.0.0.1:${port}`);
      try {
        const req = session.request({ ":method": "POST", ":path": pathOf(verify), "content-type": TEXT, ...bearer(f.inst.verifierToken) });
        req.end(b64(verifyBody(token.value)));
        let type = "";
        req.on("response", (h) => (type = String(h["content-type"])));
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        assert.equal(type, RESPONSE_TYPE);
        const text = Buffer.concat(chunks).toString("latin1");
        const r = await readAll({ status: 200, headers: {}, frames: decodeFrames([text]), text: () => text, close: () => undefined });
        assert.equal(r.code, 0, r.message);
        assert.equal(VerifyStatus[fromBinary(verify.output, r.messages[0]!).status], "VALID");
      } finally {
        session.close();
      }
    });
  });
});

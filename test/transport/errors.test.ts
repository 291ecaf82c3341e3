// The edge error mapping on its own: what clients may see, and what only the log gets.

import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { TesseraError, type ErrorCode } from "../../src/domain/errors.js";
import { toConnectError, toGrpcStatus } from "../../src/transport/errors.js";

describe("toConnectError", () => {
  const codes: Array<[ErrorCode, Code]> = [
    ["INVALID_ARGUMENT", Code.InvalidArgument],
    ["NOT_FOUND", Code.NotFound],
    ["PERMISSION_DENIED", Code.PermissionDenied],
    ["UNAUTHENTICATED", Code.Unauthenticated],
    ["ALREADY_EXISTS", Code.AlreadyExists],
    ["RESOURCE_EXHAUSTED", Code.ResourceExhausted],
    ["UNAVAILABLE", Code.Unavailable],
    ["FAILED_PRECONDITION", Code.FailedPrecondition],
    ["OUT_OF_RANGE", Code.OutOfRange],
    ["INTERNAL", Code.Internal],
  ];
  for (const [name, code] of codes) {
    it(`maps TesseraError ${name} to the code of the same name with its public message`, () => {
      const err = toConnectError(new TesseraError(name, `public ${name}`));
      assert.equal(err.code, code);
      assert.equal(err.rawMessage, `public ${name}`);
    });
  }

  it("passes a ConnectError through untouched", () => {
    const original = new ConnectError("deadline", Code.DeadlineExceeded);
    assert.equal(toConnectError(original), original);
  });

  it('turns anything else into INTERNAL "internal error" and logs the cause', () => {
    const logged: Array<Record<string, unknown>> = [];
    const err = toConnectError(new Error("secret internal detail /path"), {
      log: (_event, fields = {}) => logged.push(fields),
      procedure: "/tessera.v1.TokenVerifyService/Verify",
    });
    assert.equal(err.code, Code.Internal);
    assert.equal(err.rawMessage, "internal error");
    assert.equal(err.cause, undefined);
    assert.equal(logged.length, 1);
    assert.equal(logged[0]?.["error"], "secret internal detail /path");
    assert.equal(logged[0]?.["rpc"], "/tessera.v1.TokenVerifyService/Verify");
    assert.equal(logged[0]?.["code"], "INTERNAL");
    assert.match(String(logged[0]?.["stack"]), /at /);
  });

  it("treats thrown non-errors as internal too", () => {
    assert.equal(toConnectError("a string").code, Code.Internal);
    assert.equal(toConnectError(undefined).rawMessage, "internal error");
  });

  it("logs the hidden cause of a public TesseraError", () => {
    const logged: Array<Record<string, unknown>> = [];
    const err = toConnectError(new TesseraError("UNAVAILABLE", "database unavailable", { cause: new Error("ECONNREFUSED 10.0.0.5") }), {
      log: (_e, f = {}) => logged.push(f),
    });
    assert.equal(err.rawMessage, "database unavailable");
    assert.match(JSON.stringify(logged), /ECONNREFUSED/);
  });

  it("survives a log sink that throws", () => {
    const err = toConnectError(new Error("x"), {
      log: () => {
        throw new Error("sink down");
      },
    });
    assert.equal(err.code, Code.Internal);
  });

  it("gives grpc-js the same code number and the public message as details", () => {
    assert.deepEqual(toGrpcStatus(new TesseraError("NOT_FOUND", 'token "ci" not found')), { code: 5, details: 'token "ci" not found' });
    assert.deepEqual(toGrpcStatus(new Error("secret")), { code: 13, details: "internal error" });
  });
});

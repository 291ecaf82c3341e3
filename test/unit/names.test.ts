import assert from "node:assert/strict";
import { TesseraError } from "../../src/domain/errors.js";
import { validateDescription, validateDisplayName, validateIdentifier, validateTokenName } from "../../src/domain/names.js";

function invalid(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TesseraError);
    assert.equal(e.code, "INVALID_ARGUMENT");
    assert.match(e.publicMessage, re);
    return true;
  });
}

describe("name validation", () => {
  it("accepts token names of letters, digits, underscore and dash up to 256 characters", () => {
    for (const n of ["default", "CI_upload-2", "a", "x".repeat(256)]) assert.equal(validateTokenName(n), n);
  });

  it("rejects a 257-character token name, citing the length limit", () => {
    invalid(() => validateTokenName("x".repeat(257)), /token name must be at most 256 characters \(got 257\)/);
  });

  it("rejects empty token names and token names with other characters, citing the pattern", () => {
    invalid(() => validateTokenName(""), /token name is required/);
    for (const n of ["with space", "dot.ted", "slash/", "ünïcode", "new\nline"]) {
      invalid(() => validateTokenName(n), /token name.*\[A-Za-z0-9_-\]/);
    }
  });

  it("accepts lowercase organization identifiers and bucket names up to 63 characters", () => {
    for (const field of ["organization identifier", "bucket name"] as const) {
      for (const v of ["acme", "0day", "a_b-c", "a".repeat(63)]) assert.equal(validateIdentifier(field, v), v);
    }
  });

  it("rejects organization identifiers and bucket names with uppercase, a leading dash or over 63 characters", () => {
    invalid(() => validateIdentifier("organization identifier", "Acme"), /^organization identifier may contain only/);
    invalid(() => validateIdentifier("bucket name", "-logs"), /^bucket name may contain only/);
    invalid(() => validateIdentifier("bucket name", "_logs"), /bucket name/);
    invalid(() => validateIdentifier("bucket name", "a".repeat(64)), /bucket name must be at most 63/);
    invalid(() => validateIdentifier("organization identifier", ""), /organization identifier is required/);
  });

  it("accepts user names with mixed case, dots and @ up to 128 characters, and rejects others", () => {
    for (const v of ["alice", "Alice.Smith", "bob@example.com", "a".repeat(128)]) {
      assert.equal(validateIdentifier("user name", v), v);
    }
    invalid(() => validateIdentifier("user name", "a".repeat(129)), /user name must be at most 128/);
    invalid(() => validateIdentifier("user name", ".alice"), /user name may contain only/);
    invalid(() => validateIdentifier("user name", "al ice"), /user name/);
  });

  it("accepts descriptions up to 1024 characters, including empty and non-ASCII text", () => {
    for (const d of ["", "Upload from CI — prod", "é".repeat(1024), "😀".repeat(1024)]) assert.equal(validateDescription(d), d);
  });

  it("rejects descriptions over 1024 characters or with control characters", () => {
    invalid(() => validateDescription("x".repeat(1025)), /description must be at most 1024 characters/);
    for (const c of ["\n", "\r", "\t", "\0", "\x1b", "\u202e"]) {
      invalid(() => validateDescription(`bad${c}text`), /description must not contain control characters/);
    }
  });

  it("accepts display names of 1 to 256 characters and rejects empty, longer or control-character ones", () => {
    assert.equal(validateDisplayName("Acme Corp."), "Acme Corp.");
    assert.equal(validateDisplayName("n".repeat(256)), "n".repeat(256));
    invalid(() => validateDisplayName(""), /display name is required/);
    invalid(() => validateDisplayName("n".repeat(257)), /at most 256/);
    invalid(() => validateDisplayName("Acme\nCorp"), /control characters/);
    invalid(() => validateDisplayName("", "organization name"), /^organization name is required/);
  });
});

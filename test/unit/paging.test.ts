/** Page tokens: positions only, checked, and bound to the filters of the request that made them. */
import assert from "node:assert/strict";
import { TesseraError } from "../../src/domain/errors.js";
import { bindPage, decodePageToken, encodePageToken } from "../../src/services/paging.js";

const id = (p: string) => p;

function refuses(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof TesseraError && e.code === "INVALID_ARGUMENT" && re.test(e.publicMessage));
}

describe("page tokens", () => {
  it("round-trip a position under the same binding, whatever order the filters are given in", () => {
    const b = bindPage({ organization: "o1", kind: "INGESTION", prefix: undefined });
    const same = bindPage({ prefix: undefined, kind: "INGESTION", organization: "o1" });
    assert.equal(decodePageToken(encodePageToken("t", "1:5", b), "t", id, same), "1:5");
  });

  it("refuse a token made under other filters, an unset filter differing from an empty one included", () => {
    const t = encodePageToken("t", "1:5", bindPage({ organization: "o1", prefix: "ab" }));
    for (const other of [
      { organization: "o2", prefix: "ab" },
      { organization: "o1", prefix: "abc" },
      { organization: "o1", prefix: undefined },
    ]) {
      refuses(() => decodePageToken(t, "t", id, bindPage(other)), /does not match the request's filters/);
    }
    const unset = encodePageToken("t", "1:5", bindPage({ enabled: undefined }));
    refuses(() => decodePageToken(unset, "t", id, bindPage({ enabled: false })), /does not match/);
  });

  it("carry a digest of the filters, never the filter values", () => {
    const t = encodePageToken("t", "1:5", bindPage({ prefix: "secret-team-name" }));
    assert.ok(!Buffer.from(t, "base64url").toString("utf8").includes("secret-team-name"));
  });

  it("accept an unbound token only where the binding allows it", () => {
    const old = encodePageToken("t", "1:5");
    assert.equal(decodePageToken(old, "t", id, bindPage({ organization: "o1" }, true)), "1:5");
    refuses(() => decodePageToken(old, "t", id, bindPage({ organization: "o1" })), /does not match/);
  });

  it("refuse another listing's token and a forged digest as invalid", () => {
    const b = bindPage({ organization: "o1" });
    refuses(() => decodePageToken(encodePageToken("u", "x", b), "t", id, b), /not valid for this listing/);
    const forged = Buffer.from(JSON.stringify({ k: "t", p: "1:5", f: 7 })).toString("base64url");
    refuses(() => decodePageToken(forged, "t", id, b), /not valid for this listing/);
  });
});

/** Each protocol's request headers, and the damage done to them. */
import type { FuzzCase, Protocol } from "./cases.js";
import type { Rng } from "./prng.js";
import { MARKER, credential, type FuzzContext } from "./values.js";

/**
 * Refusals before any RPC is decoded (Node's HTTP/1.1 parser, HTTP/2 header limits): they say
 * nothing about the RPC, so they satisfy any expectation. What an expectation rules out is the
 * server deciding the RPC the wrong way.
 */
export const TRANSPORT_REFUSALS = [
  "HTTP_400",
  "HTTP_431",
  "RST_PROTOCOL_ERROR",
  "RST_COMPRESSION_ERROR",
  "RST_ENHANCE_YOUR_CALM",
  "RST_REFUSED_STREAM",
  "CLOSED",
];

export function baseHeaders(rng: Rng, protocol: Protocol, json: boolean, streaming: boolean): Array<[string, string]> {
  const h: Array<[string, string]> = [];
  const codec = json ? "json" : "proto";
  switch (protocol) {
    case "connect":
      h.push(["content-type", streaming ? `application/connect+${codec}` : `application/${codec}`]);
      if (rng.chance(0.8)) h.push(["connect-protocol-version", "1"]);
      break;
    case "grpc":
      h.push(["content-type", json ? "application/grpc+json" : rng.pick(["application/grpc", "application/grpc+proto"])]);
      h.push(["te", "trailers"]);
      break;
    case "grpc-web":
      h.push(["content-type", json ? "application/grpc-web+json" : rng.pick(["application/grpc-web", "application/grpc-web+proto"])]);
      h.push(["x-grpc-web", "1"]);
      break;
  }
  return h;
}

const GRPC_TIMEOUTS = [
  "abc",
  "1x",
  "",
  "-1S",
  "999999999S",
  "1.5S",
  "0n",
  "1H",
  "00000001m",
  "1 S",
  MARKER,
  "1S1S",
  "18446744073709551616n",
  " 1S",
];
const CONTENT_TYPES = [
  "application/proto; charset=utf-8",
  "application/json; charset=latin1",
  "application/grpc+json",
  "application/grpc-web-text",
  "application/grpc-web-text+proto",
  "text/plain",
  "",
  "application/x-protobuf",
  "application/grpc+thrift",
  "APPLICATION/GRPC",
  "application/connect+proto",
  "application/json",
  "application/proto",
  "application/grpc",
  "application/grpc-web+proto",
  `application/${MARKER}`,
  "multipart/form-data; boundary=x",
];

/** RFC 9113 §8.2.1: no NUL, CR, LF or other control characters, no leading or trailing whitespace. */
function validH2FieldValue(v: string): boolean {
  return !/[\x00-\x08\x0a-\x1f\x7f]/.test(v) && !/^[ \t]|[ \t]$/.test(v);
}

/** Header damage; some of it (two authorization values) has an expected outcome. */
export const HEADER_MUTATIONS: ReadonlyArray<readonly [number, string]> = [
  [4, "dup-auth"],
  [3, "content-type"],
  [3, "grpc-timeout"],
  [1, "connect-timeout"],
  [1, "protocol-version"],
  [1, "no-content-type"],
  [1, "long-header"],
  [1, "many-headers"],
  [1, "latin1-auth"],
  [1, "accept-encoding"],
  [1, "http-method"],
  [1, "path"],
  [1, "dup-content-type"],
  [1, "no-te"],
  [1, "auth-case"],
];

export function headerMutation(
  rng: Rng,
  ctx: FuzzContext,
  c: FuzzCase,
  headers: Array<[string, string]>,
  which: string,
  notes: string[],
): void {
  const set = (name: string, value: string) => {
    for (let i = headers.length - 1; i >= 0; i--) if (headers[i]![0] === name) headers.splice(i, 1);
    headers.push([name, value]);
  };
  switch (which) {
    case "dup-auth": {
      const good = [`Bearer ${ctx.operatorToken}`, `Bearer ${ctx.verifierToken}`];
      const a = rng.pick(good);
      const b = rng.weighted<() => string>([
        [2, () => credential(rng, ctx).value],
        [1, () => "Bearer " + MARKER],
        [1, () => a],
        [1, () => rng.pick(good)],
      ])();
      // Drop any existing authorization so there are exactly two, in a random order.
      for (let i = headers.length - 1; i >= 0; i--) if (headers[i]![0] === "authorization") headers.splice(i, 1);
      const [first, second] = rng.chance(0.5) ? [a, b] : [b, a];
      const name2 = rng.pick(["authorization", "Authorization", "AUTHORIZATION"]);
      headers.push(["authorization", first], [name2, second]);
      notes.push(`headers: two authorization values (${name2} second)`);
      if (c.wire === "h2" && (!validH2FieldValue(first) || !validH2FieldValue(second))) {
        // Node's HTTP/2 server (nghttp2) drops a field value RFC 9113 forbids before any code
        // sees it, so the server receives one authorization value: nothing to expect here.
        notes.push("one value is not a valid HTTP/2 field value (dropped by the transport)");
        return;
      }
      c.expect = { codes: ["UNAUTHENTICATED", ...TRANSPORT_REFUSALS], why: "two authorization values must not let either one win" };
      return;
    }
    case "content-type": {
      const t = rng.pick(CONTENT_TYPES);
      set("content-type", t);
      notes.push(`headers: content-type ${JSON.stringify(t)}`);
      return;
    }
    case "no-content-type":
      for (let i = headers.length - 1; i >= 0; i--) if (headers[i]![0] === "content-type") headers.splice(i, 1);
      notes.push("headers: no content-type");
      return;
    case "dup-content-type":
      headers.push(["content-type", rng.pick(CONTENT_TYPES)]);
      notes.push("headers: two content-types");
      return;
    case "grpc-timeout": {
      const t = rng.pick(GRPC_TIMEOUTS);
      headers.push(["grpc-timeout", t]);
      notes.push(`headers: grpc-timeout ${JSON.stringify(t)}`);
      return;
    }
    case "connect-timeout": {
      const t = rng.pick(["abc", "-1", "1e3", "99999999999999999999", "0", "1.5", MARKER, ""]);
      headers.push(["connect-timeout-ms", t]);
      notes.push(`headers: connect-timeout-ms ${JSON.stringify(t)}`);
      return;
    }
    case "protocol-version": {
      const v = rng.pick(["2", "abc", "", "1, 1", MARKER]);
      set("connect-protocol-version", v);
      notes.push(`headers: connect-protocol-version ${JSON.stringify(v)}`);
      return;
    }
    case "long-header": {
      const n = rng.pick([8 * 1024, 15 * 1024, 64 * 1024]);
      headers.push([rng.pick(["x-fuzz", "authorization-x", "user-agent"]), MARKER + "a".repeat(n)]);
      notes.push(`headers: one header of ${n} bytes`);
      return;
    }
    case "many-headers": {
      const n = rng.pick([100, 500]);
      for (let i = 0; i < n; i++) headers.push([`x-fuzz-${i}`, String(i)]);
      notes.push(`headers: ${n} extra headers`);
      return;
    }
    case "latin1-auth": {
      const v = `Bearer ${rng
        .bytes(rng.int(1, 43))
        .toString("latin1")
        .replace(/[\r\n\0]/g, "\xff")}`;
      set("authorization", v);
      notes.push("headers: authorization with bytes past ASCII");
      return;
    }
    case "auth-case": {
      const i = headers.findIndex((h) => h[0] === "authorization");
      if (i >= 0) headers[i] = [rng.pick(["Authorization", "AUTHORIZATION"]), headers[i]![1]];
      notes.push("headers: authorization name in other case");
      return;
    }
    case "accept-encoding": {
      const v = rng.pick(["gzip;q=abc", MARKER, "*", "br, gzip, zstd", "identity;q=0"]);
      headers.push([rng.pick(["grpc-accept-encoding", "accept-encoding", "connect-accept-encoding"]), v]);
      notes.push(`headers: accept-encoding ${JSON.stringify(v)}`);
      return;
    }
    case "http-method":
      c.httpMethod = rng.pick(["GET", "PUT", "DELETE", "OPTIONS", "PATCH"]);
      notes.push(`HTTP method ${c.httpMethod}`);
      return;
    case "path": {
      const p = rng.pick([
        c.path + "/",
        c.path + "?x=1",
        c.path.toLowerCase(),
        "/" + c.path,
        c.path.replace("/", "/%74"),
        `/tessera.v1.TokenAdminService/Nope`,
        "/tessera.v1.Nope/Verify",
        c.path + "%00",
      ]);
      c.path = p;
      notes.push(`path ${p}`);
      return;
    }
    case "no-te":
      for (let i = headers.length - 1; i >= 0; i--) if (headers[i]![0] === "te") headers.splice(i, 1);
      notes.push("headers: no te");
      return;
  }
}

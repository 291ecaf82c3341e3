/**
 * Raw requests, for bytes and headers that a real client library refuses to send: HTTP/1.1 and
 * h2c with exact bodies, and curl for duplicate headers (Node's own HTTP/2 client refuses to send
 * two `authorization` headers).
 */
import { execFile } from "node:child_process";
import http from "node:http";
import http2 from "node:http2";

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  trailers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export function h1(port: number, path: string, headers: Record<string, string>, body: Uint8Array): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, path, method: "POST", headers: { ...headers, "content-length": String(body.byteLength) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, trailers: res.trailers, body: Buffer.concat(chunks) }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(Buffer.from(body));
  });
}

export function h2(port: number, path: string, headers: Record<string, string>, body: Uint8Array): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on("error", reject);
    const req = session.request({ ":method": "POST", ":path": path, te: "trailers", ...headers });
    let status = 0;
    let responseHeaders: RawResponse["headers"] = {};
    let trailers: RawResponse["trailers"] = {};
    const chunks: Buffer[] = [];
    req.on("response", (h) => {
      status = Number(h[":status"]);
      responseHeaders = h;
    });
    req.on("trailers", (t) => (trailers = t));
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      session.close();
      resolve({ status, headers: responseHeaders, trailers, body: Buffer.concat(chunks) });
    });
    req.on("error", (err) => {
      session.close();
      reject(err);
    });
    req.end(Buffer.from(body));
  });
}

/** A gRPC / gRPC-web length-prefixed frame. */
export function frame(message: Uint8Array, flags = 0): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(message.byteLength, 1);
  return Buffer.concat([head, Buffer.from(message)]);
}

/** The gRPC status of a response: trailers, or the headers of a trailers-only response. */
export function grpcStatus(res: RawResponse): { code: number; message: string } {
  const src = res.trailers["grpc-status"] !== undefined ? res.trailers : res.headers;
  return { code: Number(src["grpc-status"]), message: decodeURIComponent(String(src["grpc-message"] ?? "")) };
}

/** The frames of a gRPC, gRPC-web or Connect streaming body: flags and data of each. */
function* frames(body: Buffer): Generator<{ flags: number; data: Buffer }> {
  let at = 0;
  while (at + 5 <= body.length) {
    const len = body.readUInt32BE(at + 1);
    yield { flags: body[at]!, data: body.subarray(at + 5, at + 5 + len) };
    at += 5 + len;
  }
}

/** The status in a gRPC-web body's trailer frame. */
export function grpcWebStatus(body: Buffer): { code: number; message: string } {
  for (const { flags, data } of frames(body)) {
    if ((flags & 0x80) === 0) continue;
    const fields = Object.fromEntries(
      data
        .toString("latin1")
        .split("\r\n")
        .filter((l) => l.includes(":"))
        .map((l) => [l.slice(0, l.indexOf(":")).trim().toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]),
    );
    return { code: Number(fields["grpc-status"]), message: decodeURIComponent(fields["grpc-message"] ?? "") };
  }
  throw new Error("no gRPC-web trailer frame in the response");
}

/** The error of a Connect stream's end-of-stream frame. */
export function endStreamError(body: Buffer): { code: string; message: string } | undefined {
  for (const { flags, data } of frames(body)) {
    if (flags & 0x02) return (JSON.parse(data.toString()) as { error?: { code: string; message: string } }).error;
  }
  return undefined;
}

/** Runs curl; resolves with what it printed (headers with -i / -D -). */
export function curl(args: string[], input?: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      "curl",
      ["-sS", "--max-time", "20", ...args],
      { encoding: "latin1", maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => (err ? reject(new Error(`curl failed: ${stderr || err.message}`)) : resolve(stdout)),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

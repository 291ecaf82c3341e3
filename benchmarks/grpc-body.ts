/** gRPC wire bodies for the load generators: length-prefixed frames around protobuf-es bytes. */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { CheckRequestSchema } from "../src/gen/envoy/service/auth/v3/external_auth_pb.js";
import { EndpointClass } from "../src/gen/tessera/v1/resources_pb.js";
import {
  VerifyRequestSchema,
  VerifyResponseSchema,
  VerifyStatus,
  type VerifyResponse,
} from "../src/gen/tessera/v1/token_verify_service_pb.js";

export const VERIFY_PATH = "/tessera.v1.TokenVerifyService/Verify";

/** 5-byte gRPC message header (0 = uncompressed, 4-byte big-endian length) + the message. */
function grpcFrame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.byteLength);
  out[0] = 0;
  out.writeUInt32BE(message.byteLength, 1);
  out.set(message, 5);
  return out;
}

/** The Verify request an ingestion worker sends for a request carrying `token`, encoded. */
export function verifyRequest(token: string): Uint8Array {
  return toBinary(VerifyRequestSchema, create(VerifyRequestSchema, { credential: `Bearer ${token}`, endpoint: EndpointClass.INGEST }));
}

/** The same request as a gRPC body. */
export function verifyBody(token: string): Buffer {
  return grpcFrame(verifyRequest(token));
}

/** Decodes one unary gRPC response body (a single frame); undefined if it is not one. */
export function decodeVerifyResponse(body: Buffer): VerifyResponse | undefined {
  if (body.length < 5 || body[0] !== 0) return undefined;
  const len = body.readUInt32BE(1);
  if (body.length !== 5 + len) return undefined;
  return fromBinary(VerifyResponseSchema, body.subarray(5));
}

export function statusName(s: VerifyStatus): string {
  return VerifyStatus[s] ?? String(s);
}

export const CHECK_PATH = "/envoy.service.auth.v3.Authorization/Check";

/**
 * The Check an Envoy in front of an OTLP/HTTP receiver sends for a log export carrying `token`:
 * lowercased headers with the pseudo-headers, the path with its query, a source address, and the
 * fields of Envoy's that Tessera does not declare.
 */
export function checkBody(token: string): Buffer {
  const headers: Record<string, string> = {
    ":method": "POST",
    ":path": "/v1/logs",
    ":authority": "ingest.example.com",
    ":scheme": "https",
    "content-type": "application/x-protobuf",
    "content-length": "1432",
    "user-agent": "OTel-OTLP-Exporter-Go/1.28.0",
    "x-request-id": "6b0c3f9e-2a4d-4e1f-9a53-0d7c2b1e8f44",
    "x-forwarded-proto": "https",
    authorization: `Bearer ${token}`,
  };
  const req = create(CheckRequestSchema, {
    attributes: {
      source: {
        address: { address: { case: "socketAddress", value: { address: "10.0.0.7", portSpecifier: { case: "portValue", value: 40312 } } } },
      },
      request: { http: { method: "POST", path: "/v1/logs", host: "ingest.example.com", headers } },
    },
  });
  return grpcFrame(Buffer.concat([toBinary(CheckRequestSchema, req), ENVOY_EXTRAS]));
}

/** A protobuf field: tag, then a varint or a length-delimited body. */
const pbVarint = (n: number): number[] => {
  const out: number[] = [];
  for (let v = n; ; v = Math.floor(v / 128)) {
    if (v < 0x80) return [...out, v];
    out.push((v & 0x7f) | 0x80);
  }
};
const pbLen = (field: number, body: number[]): number[] => [...pbVarint(field * 8 + 2), ...pbVarint(body.length), ...body];
const pbStr = (field: number, s: string): number[] => pbLen(field, [...Buffer.from(s, "utf8")]);

/**
 * What else Envoy sends that Tessera does not declare (so the bytes are written by hand): the
 * destination address, the request's time, id, scheme, size and protocol. A message field given
 * twice is merged, so a second `attributes` carrying them says what Envoy's one message says.
 */
const ENVOY_EXTRAS = Buffer.from(
  pbLen(1, [
    ...pbLen(2, pbLen(1, pbLen(1, [...pbStr(2, "10.0.0.2"), ...pbVarint(3 * 8), ...pbVarint(4318)]))), // destination
    ...pbLen(4, [
      ...pbLen(1, [...pbVarint(8), ...pbVarint(1_764_633_600), ...pbVarint(16), ...pbVarint(123_456_000)]), // request.time
      ...pbLen(2, [
        ...pbStr(1, "6b0c3f9e-2a4d-4e1f-9a53-0d7c2b1e8f44"), // http.id
        ...pbStr(6, "https"), // http.scheme
        ...pbVarint(9 * 8),
        ...pbVarint(1432), // http.size
        ...pbStr(10, "HTTP/2"), // http.protocol
      ]),
    ]),
  ]),
);

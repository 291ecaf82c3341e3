/** gRPC wire bodies for the load generators: length-prefixed frames around protobuf-es bytes. */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
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

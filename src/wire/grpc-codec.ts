// grpc-js method definitions built from protobuf-es v2 descriptors, shared by server and client.
//
// grpc-js only needs a path and four (de)serializers per method; protobuf-es already knows the
// wire format, so no .proto loading at runtime. Two details matter:
// - grpc-js turns a throwing request deserializer into INTERNAL. A malformed body is the
//   client's fault, so the server-side deserializer returns the MALFORMED sentinel instead and
//   the adapter answers INVALID_ARGUMENT.
// - grpc-js copies from the returned Buffer, so it is a view over protobuf-es's bytes, not a copy.
// - Envoy's CheckRequest carries many fields Tessera does not declare (request ids, times,
//   addresses, protocol, size, metadata): they are skipped, not kept as unknown fields, since
//   nothing reads them and a Check is decoded on every request a gateway lets through.

import type * as grpc from "@grpc/grpc-js";
import { create, fromBinary, isMessage, toBinary, type DescMessage, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { wireEncodingOf } from "./wire-encoding.js";

/** What the server sees instead of a request whose bytes are not a valid message. */
export const MALFORMED: unique symbol = Symbol("tessera.malformed-request");

const definitions = new WeakMap<DescService, grpc.ServiceDefinition>();

/** `/tessera.v1.TokenVerifyService/Verify` */
export function grpcPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

/** One grpc-js definition per service, keyed by the proto method name (`Verify`). */
export function grpcServiceDefinition(desc: DescService): grpc.ServiceDefinition {
  let def = definitions.get(desc);
  if (def === undefined) {
    const methods: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
    for (const method of desc.methods) {
      methods[method.name] = {
        path: grpcPath(method),
        requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
        responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
        requestSerialize: serializer(method.input),
        requestDeserialize: lenientDeserializer(method.input),
        responseSerialize: serializer(method.output),
        responseDeserialize: deserializer(method.output),
      };
    }
    def = methods;
    definitions.set(desc, def);
  }
  return def;
}

/** Accepts a message or its init shape (what a ServiceImpl may return). */
function serializer(schema: DescMessage): (value: unknown) => Buffer {
  return (value) => {
    if (isMessage(value, schema)) {
      // A service that holds the encoding already attached it (wire-encoding.ts).
      const wire = wireEncodingOf(value);
      if (wire !== undefined) return Buffer.from(wire, "latin1");
    }
    const msg = isMessage(value, schema) ? value : create(schema, value as never);
    const bytes = toBinary(schema, msg);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

function deserializer(schema: DescMessage): (bytes: Buffer) => unknown {
  return (bytes) => fromBinary(schema, bytes);
}

/** Requests whose unknown fields are skipped rather than kept. */
const SKIP_UNKNOWN = new Set(["envoy.service.auth.v3.CheckRequest"]);

function lenientDeserializer(schema: DescMessage): (bytes: Buffer) => unknown {
  const options = SKIP_UNKNOWN.has(schema.typeName) ? { readUnknownFields: false } : undefined;
  return (bytes) => {
    try {
      return fromBinary(schema, bytes, options);
    } catch {
      return MALFORMED;
    }
  };
}

/**
 * The contract between a service that already holds a response's encoding and the gRPC codec
 * that would otherwise encode it again: a service may attach a message's complete binary
 * encoding under `kWireEncoding`, as a latin1 string, and it must equal toBinary of that message.
 * Verify's memoized answers do (services/verify-answers.ts); the grpc-js serializer (grpc-codec.ts)
 * copies it out. A string, not a Buffer, because answers are kept by the million and a Buffer
 * costs several objects each; copying one out costs less than encoding.
 */
export const kWireEncoding: unique symbol = Symbol("tessera.wire-encoding");

/** The attached encoding of `message`, if any. */
export function wireEncodingOf(message: object): string | undefined {
  const wire = (message as { [kWireEncoding]?: unknown })[kWireEncoding];
  return typeof wire === "string" ? wire : undefined;
}

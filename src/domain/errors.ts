// Typed domain errors.
//
// The domain and services throw TesseraError; each transport maps `code` to its own status
// (gRPC status codes and Connect codes share these names). `publicMessage` is what the client
// sees, so it should tell the caller what to fix, and must never contain a token value, a key or
// anything else secret. Anything that is not a TesseraError is treated as INTERNAL by the
// transports and its message is not shown to clients.

export type ErrorCode =
  | "INVALID_ARGUMENT"
  | "NOT_FOUND"
  | "PERMISSION_DENIED"
  | "UNAUTHENTICATED"
  | "ALREADY_EXISTS"
  | "RESOURCE_EXHAUSTED"
  | "UNAVAILABLE"
  | "FAILED_PRECONDITION"
  | "OUT_OF_RANGE"
  | "INTERNAL";

export class TesseraError extends Error {
  override readonly name = "TesseraError";

  constructor(
    readonly code: ErrorCode,
    readonly publicMessage: string,
    options?: { cause?: unknown },
  ) {
    super(publicMessage, options);
  }
}

export function isTesseraError(err: unknown): err is TesseraError {
  return err instanceof TesseraError;
}

export const invalidArgument = (msg: string): TesseraError => new TesseraError("INVALID_ARGUMENT", msg);

/** `what` names the missing thing, e.g. `token "ci-upload"` or `organization "acme"`. */
export const notFound = (what: string): TesseraError => new TesseraError("NOT_FOUND", `${what} not found`);

export const permissionDenied = (msg: string): TesseraError => new TesseraError("PERMISSION_DENIED", msg);

export const unauthenticated = (msg: string): TesseraError => new TesseraError("UNAUTHENTICATED", msg);

export const alreadyExists = (msg: string): TesseraError => new TesseraError("ALREADY_EXISTS", msg);

export const failedPrecondition = (msg: string): TesseraError => new TesseraError("FAILED_PRECONDITION", msg);

export const resourceExhausted = (msg: string): TesseraError => new TesseraError("RESOURCE_EXHAUSTED", msg);

export const outOfRange = (msg: string): TesseraError => new TesseraError("OUT_OF_RANGE", msg);

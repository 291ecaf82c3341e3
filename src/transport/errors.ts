// The one edge function that turns anything a service throws into a public error.
//
// Both listeners go through here: the Connect interceptor throws the returned ConnectError, and
// the grpc-js adapter sends its code and raw message as the gRPC status (Connect codes are the
// gRPC status numbers). Clients see a TesseraError's publicMessage or a ConnectError's own
// message; anything else becomes INTERNAL "internal error" and its cause only reaches the log,
// never the wire (no message, no stack, no path).

import { Code, ConnectError } from "@connectrpc/connect";
import { TesseraError, type ErrorCode } from "../domain/errors.js";
import type { Log } from "../log.js";
import type { UnavailableLog } from "./unavailable-log.js";

export interface ErrorMappingOptions {
  /** Where the cause of an internal error goes. Without it causes are dropped. */
  log?: Log | undefined;
  /** `/package.Service/Method`, logged beside the cause. */
  procedure?: string | undefined;
  /** Where UNAVAILABLE answers are counted instead of logged one by one. */
  unavailable?: UnavailableLog | undefined;
}

const CODES: Readonly<Record<ErrorCode, Code>> = {
  INVALID_ARGUMENT: Code.InvalidArgument,
  NOT_FOUND: Code.NotFound,
  PERMISSION_DENIED: Code.PermissionDenied,
  UNAUTHENTICATED: Code.Unauthenticated,
  ALREADY_EXISTS: Code.AlreadyExists,
  RESOURCE_EXHAUSTED: Code.ResourceExhausted,
  UNAVAILABLE: Code.Unavailable,
  FAILED_PRECONDITION: Code.FailedPrecondition,
  OUT_OF_RANGE: Code.OutOfRange,
  INTERNAL: Code.Internal,
};

const INTERNAL_MESSAGE = "internal error";

/** Maps anything thrown to the error a client may see, reporting hidden causes to `log`. */
export function toConnectError(err: unknown, options?: ErrorMappingOptions): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof TesseraError) {
    // A TesseraError's message is public by contract; still log its cause when it hides one
    // (INTERNAL, or UNAVAILABLE wrapping a database error: those are counted, not logged each).
    if (err.code === "UNAVAILABLE" && options?.unavailable !== undefined) options.unavailable.refused(options.procedure, err);
    else if (err.code === "INTERNAL" || err.cause !== undefined) reportInternal(err, options);
    return new ConnectError(err.publicMessage, CODES[err.code] ?? Code.Internal);
  }
  if (err instanceof Error && err.name === "AbortError") {
    // The call was cancelled or timed out and the service gave up: nothing went wrong here.
    return new ConnectError("operation canceled", Code.Canceled);
  }
  reportInternal(err, options);
  return new ConnectError(INTERNAL_MESSAGE, Code.Internal);
}

/** The same mapping as a gRPC status for grpc-js (`details` is the public message). */
export function toGrpcStatus(err: unknown, options?: ErrorMappingOptions): { code: number; details: string } {
  const ce = toConnectError(err, options);
  return { code: ce.code, details: ce.rawMessage };
}

/** Logs the full cause of an error whose details are kept from the client. */
function reportInternal(err: unknown, options?: ErrorMappingOptions): void {
  const log = options?.log;
  if (log === undefined) return;
  // `rpc` and `code` (the status the client got) are the fields every failed-call line carries.
  const fields: Record<string, unknown> = { rpc: options?.procedure, code: err instanceof TesseraError ? err.code : "INTERNAL" };
  if (err instanceof Error) {
    fields["error"] = err.message;
    fields["name"] = err.name;
    fields["stack"] = err.stack;
    if (err.cause !== undefined) fields["cause"] = describe(err.cause);
  } else {
    fields["error"] = describe(err);
  }
  try {
    log("rpc_internal_error", fields);
  } catch {
    // A broken log sink must not turn a mapped error into an unmapped one.
  }
}

function describe(v: unknown): unknown {
  return v instanceof Error ? { name: v.name, message: v.message, stack: v.stack } : String(v);
}

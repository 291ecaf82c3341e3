// One log line per RPC, with the fields log tooling expects: requestId, rpc, organization (the
// caller's), code (the gRPC status name) and durationMs. Both listeners log through here, from
// the recorder rpc-metrics.ts hands them per method.
//
// The request id is the caller's `x-request-id` when it is well-formed (request-info.ts), else
// a new one; it is written back into the call's headers at its start, so the audit trail records
// the same id for the same call.
//
// Verify and Check are the data path (thousands a second): their line is at debug, and when the
// logger is above debug they get no call log at all, so they build nothing per call.
// Never a token value: no field here comes from a request but the request id, which is checked.

import type { DescMethod } from "@bufbuild/protobuf";
import { logs, type Log } from "../log.js";
import type { Caller } from "../services/caller.js";
import { requestIdOf } from "../services/request-info.js";

export interface CallLog {
  /** The call's request id, kept or new; `set` writes a new one into the call's headers. */
  begin(get: (name: string) => string | null | undefined, set: (name: string, value: string) => void): string;
  /** Logs the finished call. */
  end(requestId: string, startedMs: number, code: number, caller: Caller | undefined): void;
}

/** Methods of the data path: per-call lines only at debug. */
const DATA_PATH = new Set(["tessera.v1.TokenVerifyService/Verify", "envoy.service.auth.v3.Authorization/Check"]);

const REQUEST_ID = "x-request-id";

/**
 * The call log of `method`, or undefined when none of its lines would be written at `log`'s
 * level (the caller then skips the per-call work altogether).
 */
export function callLogFor(log: Log, method: DescMethod, codeNames: readonly string[]): CallLog | undefined {
  const dataPath = DATA_PATH.has(`${method.parent.typeName}/${method.name}`);
  if (dataPath && !logs(log, "data_rpc_finished")) return undefined;
  const rpc = `/${method.parent.typeName}/${method.name}`;
  return {
    begin(get, set) {
      const sent = get(REQUEST_ID);
      const id = requestIdOf(sent);
      if (id !== sent) set(REQUEST_ID, id);
      return id;
    },
    end(requestId, startedMs, code, caller) {
      const event = dataPath ? "data_rpc_finished" : eventOf(code);
      try {
        log(event, {
          requestId,
          rpc,
          organization: caller?.orgId,
          code: codeNames[code] ?? String(code),
          durationMs: Math.round((performance.now() - startedMs) * 1000) / 1000,
        });
      } catch {
        // A broken log sink must not fail a call that was answered, nor crash the process.
      }
    },
  };
}

/** An admin call's event by its status code: the level table in log.ts gives each its level. */
function eventOf(code: number): string {
  switch (code) {
    case 0:
      return "rpc_finished";
    case 16: // UNAUTHENTICATED
    case 7: // PERMISSION_DENIED
      return "rpc_denied";
    case 14: // UNAVAILABLE: counted per episode by unavailable-log.ts
      return "rpc_unavailable_call";
    case 2: // UNKNOWN
    case 13: // INTERNAL
    case 15: // DATA_LOSS
      return "rpc_failed";
    default:
      return "rpc_refused";
  }
}

// Per-RPC counters and latency histograms, named as the grpc-ecosystem middleware names them
// (grpc_server_started_total, grpc_server_handled_total, grpc_server_handling_seconds), so
// existing dashboards and alerts for gRPC servers apply. Both listeners record through this one
// module: grpc-adapter.ts on the gRPC port, auth-interceptor.ts on the HTTP port.
//
// Verify is the hot path: each method's label-bound children are made once, and a call costs
// a clock read and two additions to plain numbers, and one histogram observe; and no call log
// unless the logger is at debug (call-log.ts).

import type { DescMethod } from "@bufbuild/protobuf";
import { Counter, Histogram } from "prom-client";
import type { Log } from "../log.js";
import type { Registry } from "../services/metrics.js";
import { callLogFor, type CallLog } from "./call-log.js";

/** Status names by gRPC code number, as grpc_code carries them (and the fuzzer reports them). */
export const CODE_NAMES = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
] as const;

/**
 * One method's recorder: `start()` when the call arrives, `end(start, code)` once when it is
 * answered; `log`, when the method's calls are logged at the logger's level (call-log.ts).
 */
export interface RpcRecorder {
  start(): number;
  end(start: number, code: number): void;
  readonly log: CallLog | undefined;
}

/** The recorder for a method, made on first use and kept. */
export type RpcMetrics = (method: DescMethod) => RpcRecorder;

export const GRPC_CANCELLED = 1;

/** Per-RPC metrics on `registry`, and with `log` a line per call (call-log.ts). */
export function createRpcMetrics(registry: Registry, log?: Log): RpcMetrics {
  const labelNames = ["grpc_service", "grpc_method", "grpc_type"] as const;
  const recorders = new Map<DescMethod, MethodCounts>();
  // Counted in plain numbers on the call path and handed to prom-client when scraped: an
  // increment of a prom-client child hashes its labels every time (about 0.5 µs).
  new Counter({
    name: "grpc_server_started_total",
    help: "RPCs started on the server.",
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const r of recorders.values()) this.inc(r.labels, r.started);
    },
  });
  new Counter({
    name: "grpc_server_handled_total",
    help: "RPCs completed on the server, by status code.",
    labelNames: [...labelNames, "grpc_code"],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of recorders.values()) {
        r.handled.forEach((n, code) => {
          if (n > 0) this.inc({ ...r.labels, grpc_code: CODE_NAMES[code]! }, n);
        });
      }
    },
  });
  const seconds = new Histogram({
    name: "grpc_server_handling_seconds",
    help: "Time from an RPC's arrival to its answer (for streams, to the stream's end).",
    labelNames,
    // From a cached Verify (tens of microseconds) to a slow admin transaction.
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const make = (method: DescMethod): MethodCounts => {
    const labels = { grpc_service: method.parent.typeName, grpc_method: method.name, grpc_type: GRPC_TYPES[method.methodKind] };
    const timer = seconds.labels(labels);
    const r: MethodCounts = {
      labels,
      log: log === undefined ? undefined : callLogFor(log, method, CODE_NAMES),
      started: 0,
      handled: CODE_NAMES.map(() => 0),
      start() {
        r.started++;
        return performance.now();
      },
      end(at, code) {
        timer.observe((performance.now() - at) / 1000);
        r.handled[code >= 0 && code < CODE_NAMES.length ? code : UNKNOWN]!++;
      },
    };
    return r;
  };
  return (method) => {
    let r = recorders.get(method);
    if (r === undefined) recorders.set(method, (r = make(method)));
    return r;
  };
}

interface MethodCounts extends RpcRecorder {
  readonly labels: { grpc_service: string; grpc_method: string; grpc_type: string };
  started: number;
  /** Calls answered, by code number. */
  readonly handled: number[];
}

const UNKNOWN = 2;

/** grpc_type as the grpc-ecosystem middleware names method kinds. */
const GRPC_TYPES: Record<DescMethod["methodKind"], string> = {
  unary: "unary",
  server_streaming: "server_stream",
  client_streaming: "client_stream",
  bidi_streaming: "bidi_stream",
};

// Per-RPC counters and latency histograms, named as the grpc-ecosystem middleware names them
// (grpc_server_started_total, grpc_server_handled_total, grpc_server_handling_seconds), so
// existing dashboards and alerts for gRPC servers apply. Both listeners record through this one
// module: grpc-adapter.ts on the gRPC port, auth-interceptor.ts on the HTTP port.
//
// Verify is the hot path: each method's label-bound children are made once, and a call costs
// a clock read at start and two increments and an observe at the end.

import type { DescMethod } from "@bufbuild/protobuf";
import { Counter, Histogram } from "prom-client";
import type { Registry } from "../services/metrics.js";

/** Status names by gRPC code number, as grpc_code carries them. */
const CODE_NAMES = [
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

/** One method's recorder: `start()` when the call arrives, `end(start, code)` once when it is answered. */
export interface RpcRecorder {
  start(): number;
  end(start: number, code: number): void;
}

/** The recorder for a method, made on first use and kept. */
export type RpcMetrics = (method: DescMethod) => RpcRecorder;

export const GRPC_CANCELLED = 1;

export function createRpcMetrics(registry: Registry): RpcMetrics {
  const labelNames = ["grpc_service", "grpc_method", "grpc_type"] as const;
  const started = new Counter({
    name: "grpc_server_started_total",
    help: "RPCs started on the server.",
    labelNames,
    registers: [registry],
  });
  const handled = new Counter({
    name: "grpc_server_handled_total",
    help: "RPCs completed on the server, by status code.",
    labelNames: [...labelNames, "grpc_code"],
    registers: [registry],
  });
  const seconds = new Histogram({
    name: "grpc_server_handling_seconds",
    help: "Time from an RPC's arrival to its answer (for streams, to the stream's end).",
    labelNames,
    // From a cached Verify (tens of microseconds) to a slow admin transaction.
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const recorders = new Map<DescMethod, RpcRecorder>();
  const make = (method: DescMethod): RpcRecorder => {
    const labels = {
      grpc_service: method.parent.typeName,
      grpc_method: method.name,
      grpc_type:
        method.methodKind === "unary"
          ? "unary"
          : method.methodKind === "server_streaming"
            ? "server_stream"
            : method.methodKind === "client_streaming"
              ? "client_stream"
              : "bidi_stream",
    };
    const start = started.labels(labels);
    const timer = seconds.labels(labels);
    const byCode: ({ inc(): void } | undefined)[] = [];
    const ok = handled.labels({ ...labels, grpc_code: "OK" });
    byCode[0] = ok;
    return {
      start() {
        start.inc();
        return performance.now();
      },
      end(at, code) {
        timer.observe((performance.now() - at) / 1000);
        let c = byCode[code];
        if (c === undefined) {
          c = handled.labels({ ...labels, grpc_code: CODE_NAMES[code] ?? "UNKNOWN" });
          byCode[code] = c;
        }
        c.inc();
      },
    };
  };
  return (method) => {
    let r = recorders.get(method);
    if (r === undefined) recorders.set(method, (r = make(method)));
    return r;
  };
}

/**
 * The ingestion-route presets (src/domain/ingestion-routes.ts): every built-in rule with the
 * requests its clients send, the strict parsing of request targets that keeps a crafted URI from
 * passing as a more permissive rule, refusal by default, and rules from a routes file.
 */
import assert from "node:assert/strict";
import {
  BUILT_IN_ROUTES,
  endpointNamed,
  matchIngestionRoute,
  parseIngestionRoutes,
  parseQuery,
  parseRequestTarget,
  signalNamed,
  type RouteOutcome,
} from "../../src/domain/ingestion-routes.js";

const ask = (method: string, target: string, host?: string): RouteOutcome => matchIngestionRoute(BUILT_IN_ROUTES, { method, target, host });

function matched(method: string, target: string) {
  const r = ask(method, target);
  assert.ok(r.ok, `${method} ${target} was refused: ${r.ok ? "" : r.reason}`);
  return r.question;
}

function refused(method: string, target: string, re?: RegExp): string {
  const r = ask(method, target);
  assert.equal(r.ok, false, `${method} ${target} matched ${r.ok ? r.question.route : ""}`);
  if (r.ok) throw new Error("unreachable");
  if (re !== undefined) assert.match(r.reason, re);
  return r.reason;
}

describe("ingestion-route presets", () => {
  describe("the built-in table", () => {
    it("maps OTLP over HTTP to its signal, with no bucket", () => {
      for (const [path, signal] of [
        ["/v1/logs", "LOGS"],
        ["/v1/metrics", "METRICS"],
        ["/v1/traces", "TRACES"],
      ] as const) {
        assert.deepEqual(matched("POST", path), {
          route: `otlp-http-${signal.toLowerCase()}`,
          endpoint: "INGEST",
          signal,
          bucket: "",
          organization: "",
        });
      }
    });

    it("maps the OTLP/gRPC service paths to their signals", () => {
      assert.equal(matched("POST", "/opentelemetry.proto.collector.logs.v1.LogsService/Export").signal, "LOGS");
      assert.equal(matched("POST", "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export").signal, "METRICS");
      assert.equal(matched("POST", "/opentelemetry.proto.collector.trace.v1.TraceService/Export").signal, "TRACES");
      assert.equal(matched("POST", "/opentelemetry.proto.collector.trace.v1.TraceService/Export").route, "otlp-grpc-traces");
      refused("POST", "/opentelemetry.proto.collector.logs.v1.LogsService/Other");
    });

    it("maps Prometheus remote write and the Cortex/Mimir push path to metrics", () => {
      assert.deepEqual(matched("POST", "/api/v1/write"), {
        route: "prometheus-remote-write",
        endpoint: "INGEST",
        signal: "METRICS",
        bucket: "",
        organization: "",
      });
      assert.equal(matched("POST", "/api/v1/push").route, "prometheus-push");
      assert.equal(matched("POST", "/api/v1/push").signal, "METRICS");
    });

    it("maps Loki push to logs", () => {
      assert.deepEqual(matched("POST", "/loki/api/v1/push"), {
        route: "loki-push",
        endpoint: "INGEST",
        signal: "LOGS",
        bucket: "",
        organization: "",
      });
    });

    it("maps Elasticsearch _bulk (POST or PUT) with the path's index as the bucket, and without one to no bucket", () => {
      assert.deepEqual(matched("POST", "/_bulk"), {
        route: "elasticsearch-bulk",
        endpoint: "INGEST",
        signal: "LOGS",
        bucket: "",
        organization: "",
      });
      assert.deepEqual(matched("PUT", "/app-logs/_bulk?refresh=false"), {
        route: "elasticsearch-index-bulk",
        endpoint: "INGEST",
        signal: "LOGS",
        bucket: "app-logs",
        organization: "",
      });
      assert.equal(matched("POST", "/app%2Dlogs/_bulk").bucket, "app-logs", "an escaped index is read decoded, as the backend reads it");
      refused("GET", "/_bulk");
      refused("POST", "/a/b/_bulk");
    });

    it("maps OpenObserve _json and _multi with the organization and stream from the path", () => {
      for (const kind of ["json", "multi"]) {
        assert.deepEqual(matched("POST", `/api/acme/web/_${kind}`), {
          route: `openobserve-${kind}`,
          endpoint: "INGEST",
          signal: "LOGS",
          bucket: "web",
          organization: "acme",
        });
      }
      refused("POST", "/api/acme/web/_other");
    });

    it("maps InfluxDB v2 write with the bucket and org from the query, and needs the bucket", () => {
      assert.deepEqual(matched("POST", "/api/v2/write?org=acme&bucket=sensors&precision=ns"), {
        route: "influxdb-write",
        endpoint: "INGEST",
        signal: "METRICS",
        bucket: "sensors",
        organization: "acme",
      });
      assert.equal(matched("POST", "/api/v2/write?bucket=my+bucket").bucket, "my bucket", "form decoding, as InfluxDB reads it");
      assert.equal(matched("POST", "/api/v2/write?bucket=b").organization, "");
      refused("POST", "/api/v2/write", /no ingestion route/);
      refused("POST", "/api/v2/write?bucket=", /no ingestion route/);
    });

    it("refuses an InfluxDB write naming its bucket or org twice: the backend may read the other one", () => {
      refused("POST", "/api/v2/write?bucket=a&bucket=b", /bucket query parameter appears more than once/);
      refused("POST", "/api/v2/write?bucket=a&org=x&org=y", /org query parameter appears more than once/);
    });

    it("refuses, by default, anything no rule names: other paths, other methods, the root", () => {
      refused("POST", "/v1/log", /no ingestion route matches/);
      refused("GET", "/v1/logs");
      refused("post", "/v1/logs", undefined);
      refused("POST", "/V1/LOGS");
      refused("POST", "/v1/logs/extra");
      refused("POST", "/api/v1/query");
      refused("POST", "/");
    });

    it("gives every rule a distinct name and matches each rule's example with that rule alone", () => {
      const names = BUILT_IN_ROUTES.map((r) => r.name);
      assert.equal(new Set(names).size, names.length);
      const examples: Record<string, [string, string]> = {
        "otlp-http-logs": ["POST", "/v1/logs"],
        "otlp-http-metrics": ["POST", "/v1/metrics"],
        "otlp-http-traces": ["POST", "/v1/traces"],
        "otlp-grpc-logs": ["POST", "/opentelemetry.proto.collector.logs.v1.LogsService/Export"],
        "otlp-grpc-metrics": ["POST", "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"],
        "otlp-grpc-traces": ["POST", "/opentelemetry.proto.collector.trace.v1.TraceService/Export"],
        "prometheus-remote-write": ["POST", "/api/v1/write"],
        "prometheus-push": ["POST", "/api/v1/push"],
        "loki-push": ["POST", "/loki/api/v1/push"],
        "elasticsearch-bulk": ["POST", "/_bulk"],
        "elasticsearch-index-bulk": ["POST", "/logs/_bulk"],
        "openobserve-json": ["POST", "/api/o/s/_json"],
        "openobserve-multi": ["POST", "/api/o/s/_multi"],
        "influxdb-write": ["POST", "/api/v2/write?bucket=b"],
      };
      assert.deepEqual(Object.keys(examples).sort(), [...names].sort(), "an example for every rule");
      for (const [name, [method, target]] of Object.entries(examples)) {
        const hits = BUILT_IN_ROUTES.filter((r) => matchIngestionRoute([r], { method, target }).ok).map((r) => r.name);
        assert.deepEqual(hits, [name], `${method} ${target}`);
      }
    });
  });

  describe("request targets", () => {
    it("splits a target into decoded segments and form-decoded query parameters", () => {
      const t = parseRequestTarget("/a%20b/c?x=1&y=%C3%A9&x=2&flag&&z=a+b");
      assert.ok(t.ok);
      assert.deepEqual(t.segments, ["a b", "c"]);
      assert.deepEqual(
        [...t.query],
        [
          ["x", ["1", "2"]],
          ["y", ["é"]],
          ["flag", [""]],
          ["z", ["a b"]],
        ],
      );
    });

    it("refuses targets a backend could read as another path", () => {
      const cases: Array<[string, RegExp]> = [
        ["/v1/../v1/logs", /dot segment/],
        ["/v1/./logs", /dot segment/],
        ["/v1/%2e%2e/logs", /dot segment/],
        ["/v1/%2E/logs", /dot segment/],
        ["//v1/logs", /empty segment/],
        ["/v1//logs", /empty segment/],
        ["/v1/logs/", /empty segment/],
        ["/v1%2flogs", /escaped "\/"/],
        ["/v1%5Clogs", /escaped/],
        ["/v1\\logs", /"\\"/],
        ["/v1/lo%gs", /malformed percent escape/],
        ["/v1/logs%", /malformed percent escape/],
        ["/v1/%ff", /not UTF-8/],
        ["/v1/%00logs", /control character/],
        ["/v1/logs#x", /fragment/],
        ["/v1/l\u00f6gs", /printable ASCII/],
        ["/v1/logs x", /printable ASCII/],
        ["/v1/logs\r\n", /printable ASCII/],
        ["http://host/v1/logs", /starting with "\/"/],
        ["*", /starting with "\/"/],
        ["", /empty/],
        [`/${"a".repeat(9000)}`, /longer than/],
        ["/api/v2/write?bucket=%zz", /malformed percent escape/],
        ["/api/v2/write?bucket=%0a", /control character/],
      ];
      for (const [target, re] of cases) {
        const t = parseRequestTarget(target);
        assert.equal(t.ok, false, `accepted ${JSON.stringify(target)}`);
        if (!t.ok) assert.match(t.reason, re, JSON.stringify(target));
        // And so no rule can match it.
        assert.equal(ask("POST", target).ok, false);
      }
    });

    it("never quotes the target in a refusal", () => {
      const secretish = "/v1/%2e%2e/o2oi_SECRETVALUE";
      const reason = refused("POST", secretish);
      assert.ok(!reason.includes("SECRETVALUE"));
    });

    it("parses a query string alone with the same rules", () => {
      const q = parseQuery("endpoint=ingest&signal=LOGS");
      assert.ok(typeof q !== "string");
      assert.deepEqual(
        [...q],
        [
          ["endpoint", ["ingest"]],
          ["signal", ["LOGS"]],
        ],
      );
      assert.match(String(parseQuery("a=%g0")), /malformed/);
      assert.match(String(parseQuery("a=b#c")), /fragment/);
    });
  });

  describe("names of endpoints and signals", () => {
    it("accepts short and enum names in any letter case, and nothing else", () => {
      assert.equal(endpointNamed("ingest"), "INGEST");
      assert.equal(endpointNamed("QUERY"), "QUERY");
      assert.equal(endpointNamed("ENDPOINT_CLASS_SHARED_VIEW"), "SHARED_VIEW");
      assert.equal(endpointNamed("Admin"), "ADMIN");
      assert.equal(endpointNamed("write"), undefined);
      assert.equal(endpointNamed("toString"), undefined);
      assert.equal(endpointNamed("endpoint_class_unspecified"), undefined);
      assert.equal(signalNamed("logs"), "LOGS");
      assert.equal(signalNamed("SIGNAL_TRACES"), "TRACES");
      assert.equal(signalNamed("Metrics"), "METRICS");
      assert.equal(signalNamed("profiles"), undefined);
      assert.equal(signalNamed("constructor"), undefined);
    });
  });

  describe("rules from a routes file", () => {
    it("are checked before the built-in ones, with captures, fixed buckets, hosts, wildcards and refusals", () => {
      const own = parseIngestionRoutes(
        [
          { name: "vector", path: "/vector/{bucket}/ingest", signal: "logs" },
          {
            name: "tenant-metrics",
            methods: ["POST", "PUT"],
            host: "Metrics.Example.com",
            path: "/t/{organization}/*/push",
            bucket: "prom",
            signal: "metrics",
          },
          { name: "no-root-bulk", path: "/_bulk", refuse: true },
          { name: "query", methods: ["GET"], path: "/select", endpoint: "query", bucket_query: "db" },
        ],
        "routes.json",
      );
      const routes = [...own, ...BUILT_IN_ROUTES];
      const m = (method: string, target: string, host?: string) => matchIngestionRoute(routes, { method, target, host });
      assert.deepEqual(m("POST", "/vector/edge/ingest"), {
        ok: true,
        question: { route: "vector", endpoint: "INGEST", signal: "LOGS", bucket: "edge", organization: "" },
      });
      assert.deepEqual(m("PUT", "/t/acme/anything/push", "metrics.example.com:8443"), {
        ok: true,
        question: { route: "tenant-metrics", endpoint: "INGEST", signal: "METRICS", bucket: "prom", organization: "acme" },
      });
      assert.equal(m("PUT", "/t/acme/anything/push", "other.example.com").ok, false, "another host");
      assert.equal(m("PUT", "/t/acme/anything/push").ok, false, "no host");
      assert.deepEqual(m("POST", "/_bulk"), { ok: false, reason: "route no-root-bulk refuses this request" });
      assert.equal(m("POST", "/logs/_bulk").ok, true, "the built-in rules still apply after the instance's own");
      assert.deepEqual(m("GET", "/select?db=d1"), {
        ok: true,
        question: { route: "query", endpoint: "QUERY", signal: undefined, bucket: "d1", organization: "" },
      });
    });

    it("are refused with a message naming the rule and the problem", () => {
      const bad: Array<[unknown, RegExp]> = [
        [{}, /route 1: "path" is required/],
        [{ path: "v1" }, /must start with "\/"/],
        [{ path: "/" }, /at least one segment/],
        [{ path: "/a/../b" }, /segment "\.\."/],
        [{ path: "/a%2fb" }, /segment "a%2fb"/],
        [{ path: "/a//b" }, /segment ""/],
        [{ path: "/{bucket}/{bucket}" }, /more than once/],
        [{ path: "/a", methods: ["post"] }, /upper-case HTTP methods/],
        [{ path: "/a", methods: [] }, /upper-case HTTP methods/],
        [{ path: "/a", endpoint: "write" }, /"endpoint" must be one of/],
        [{ path: "/a", signal: "profiles" }, /"signal" must be one of/],
        [{ path: "/a", bucket: "b", bucket_query: "bucket" }, /name the bucket once/],
        [{ path: "/{bucket}", bucket: "b" }, /name the bucket once/],
        [{ path: "/{organization}", organization_query: "org" }, /name the organization once/],
        [{ path: "/a", bucket_query: "a b" }, /query parameter name/],
        [{ path: "/a", host: "h:80" }, /without a port/],
        [{ path: "/a", refuse: "yes" }, /"refuse" must be true or false/],
        [{ path: "/a", buckets: ["x"] }, /unknown key "buckets"/],
        [{ path: 3 }, /"path" must be a non-empty string/],
        ["/a", /must be a JSON object/],
      ];
      for (const [spec, re] of bad) {
        assert.throws(
          () => parseIngestionRoutes([{ path: "/fine" }, spec], "routes.json"),
          (err: Error) => {
            assert.match(err.message, /^routes\.json: route 2: /);
            assert.match(err.message.replace("route 2", "route 1"), re);
            return true;
          },
        );
      }
      assert.throws(() => parseIngestionRoutes({ routes: [] }, "routes.json"), /a JSON array/);
      assert.deepEqual(parseIngestionRoutes([], "routes.json"), []);
    });
  });
});

/**
 * The Grafana dashboard (docker/grafana/dashboards/tessera.json) against a real server: every
 * metric a panel or variable queries is one Tessera exports on GET /metrics (a histogram's
 * `_bucket`/`_sum`/`_count` read from a histogram), with the labels the query matches on, and
 * each exact label value the query asks for present in the samples. And the compose file's
 * monitoring services: every file they mount exists, the scrape target is Tessera's HTTP port,
 * Grafana's data source is the one the dashboard names, all ports on loopback. No Docker
 * engine here: the files are what can be checked.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { EndpointClass } from "../../src/gen/tessera/v1/resources_pb.js";
import { useSetUpServer } from "../helpers/fixture.js";
import { parseSamples, type Sample } from "../helpers/prometheus-text.js";
import { createOrg } from "../helpers/seed.js";
import { eventually } from "../helpers/wait.js";
import { promqlSelectors } from "./promql-names.js";

const root = (p: string) => fileURLToPath(new URL(`../../../${p}`, import.meta.url));

interface Panel {
  title?: string;
  type: string;
  datasource?: { type: string; uid: string };
  targets?: Array<{ expr: string; datasource?: { uid: string } }>;
  panels?: Panel[];
}
interface Dashboard {
  uid: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; query: { query: string } | string; datasource?: { uid: string } }> };
}

const loadDashboard = async (): Promise<Dashboard> =>
  JSON.parse(await readFile(root("docker/grafana/dashboards/tessera.json"), "utf8")) as Dashboard;

/** Every PromQL expression with where it comes from: panels (rows' too) and query variables. */
function queries(d: Dashboard): Array<{ where: string; expr: string; uid: string | undefined }> {
  const out: Array<{ where: string; expr: string; uid: string | undefined }> = [];
  const walk = (ps: Panel[]) => {
    for (const p of ps) {
      for (const t of p.targets ?? []) out.push({ where: p.title ?? p.type, expr: t.expr, uid: t.datasource?.uid ?? p.datasource?.uid });
      walk(p.panels ?? []);
    }
  };
  walk(d.panels);
  for (const v of d.templating.list) {
    out.push({ where: `$${v.name}`, expr: typeof v.query === "string" ? v.query : v.query.query, uid: v.datasource?.uid });
  }
  return out;
}

/** Labels Prometheus adds to every scraped series itself. */
const TARGET_LABELS = new Set(["instance", "job"]);

describe("the Grafana dashboard", () => {
  describe("reading PromQL", () => {
    it("finds metric names and matchers, not functions, keywords, labels or strings", () => {
      const got = promqlSelectors(
        'histogram_quantile(0.99, sum by (le, grpc_method) (rate(grpc_server_handling_seconds_bucket{grpc_method="Verify",instance=~"$instance"}[$__rate_interval]))) / on(instance) group_left sum(up) or vector(0) > bool 1',
      );
      assert.deepEqual(
        got.map((g) => g.metric),
        ["grpc_server_handling_seconds_bucket", "up"],
      );
      assert.deepEqual(got[0]!.matchers, [
        { label: "grpc_method", op: "=", value: "Verify" },
        { label: "instance", op: "=~", value: "$instance" },
      ]);
      assert.deepEqual(
        promqlSelectors('label_replace(tessera_verify_total{status!="VALID"}, "x", "$1", "status", "(.*)")').map((g) => g.metric),
        ["tessera_verify_total"],
      );
      assert.deepEqual(
        promqlSelectors("label_values(tessera_verify_total, instance)").map((g) => g.metric),
        ["tessera_verify_total"],
      );
    });
  });

  describe("against a real server's /metrics", () => {
    const f = useSetUpServer();
    let samples: Sample[] = [];
    const types = new Map<string, string>();

    before(async () => {
      // Every series the dashboard reads exists once something happened: Verify calls (cached and
      // not), admin calls that succeed and fail, and a revocation event read from the feed.
      const org = await createOrg(f.c, f.inst.operatorToken);
      for (const c of f.clients) {
        await c.verify.verify({ credential: org.defaultTokenValue, endpoint: EndpointClass.INGEST }, f.inst.verifierToken);
        await c.verify.verify({ credential: "tsr_nothing", endpoint: EndpointClass.INGEST }, f.inst.verifierToken);
        await c.admin.listTokens({ organizationId: org.orgId }, org.adminToken);
        await assert.rejects(c.admin.listTokens({ organizationId: org.orgId }, "not-a-token"));
      }
      const scrape = async () => (await fetch(`http://127.0.0.1:${f.server.tessera.httpPort}/metrics`)).text();
      await f.c.admin.setTokenEnabled({ id: org.defaultTokenId, enabled: false }, org.adminToken);
      await eventually(
        async () => /^tessera_revocation_propagation_seconds_count [1-9]/m.test(await scrape()),
        undefined,
        "an event applied",
      );
      const text = await scrape();
      samples = parseSamples(text);
      for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(m[1]!, m[2]!);
    });

    /** The exported metric a queried name reads, or undefined. */
    const exported = (name: string): string | undefined => {
      if (types.has(name)) return name;
      const base = /^(.*)_(bucket|sum|count)$/.exec(name)?.[1];
      return base !== undefined && types.get(base) === "histogram" ? base : undefined;
    };

    it("queries only metrics Tessera exports, with labels and values it exports", async () => {
      const d = await loadDashboard();
      const all = queries(d);
      assert.ok(all.length >= 15, `${all.length} queries`);
      const seen = new Set<string>();
      for (const q of all) {
        const selectors = promqlSelectors(q.expr);
        assert.ok(selectors.length > 0, `${q.where}: no metric in ${q.expr}`);
        for (const s of selectors) {
          const metric = exported(s.metric);
          assert.ok(metric !== undefined, `${q.where}: ${s.metric} is not exported (${q.expr})`);
          seen.add(metric);
          const series = samples.filter((x) => x.name === s.metric);
          assert.ok(series.length > 0, `${q.where}: no sample of ${s.metric}`);
          for (const m of s.matchers) {
            if (TARGET_LABELS.has(m.label)) continue;
            assert.ok(
              series.some((x) => m.label in x.labels),
              `${q.where}: ${s.metric} has no label ${m.label}`,
            );
            if (m.op === "=" && !m.value.includes("$")) {
              assert.ok(
                series.some((x) => x.labels[m.label] === m.value),
                `${q.where}: no ${s.metric}{${m.label}="${m.value}"}`,
              );
            }
          }
        }
      }
      // What the issue asks the dashboard to show, by the metrics that carry it.
      for (const name of [
        "grpc_server_handled_total",
        "grpc_server_handling_seconds",
        "tessera_verify_total",
        "tessera_verify_cache_hits_total",
        "tessera_verify_cache_misses_total",
        "tessera_revocation_feed_lag_seconds",
        "tessera_revocation_propagation_seconds",
        "tessera_db_pool_connections_in_use",
        "tessera_db_pool_waiting",
      ]) {
        assert.ok(seen.has(name), `the dashboard shows ${name}`);
      }
    });

    it("would catch a metric Tessera does not export", () => {
      assert.equal(exported("tessera_verify_totals"), undefined);
      assert.equal(exported("tessera_verify_total_bucket"), undefined, "a counter has no buckets");
      assert.equal(exported("grpc_server_handling_seconds_bucket"), "grpc_server_handling_seconds");
    });

    it("reads every panel from the provisioned data source", async () => {
      const d = await loadDashboard();
      const ds = parse(await readFile(root("docker/grafana/provisioning/datasources/prometheus.yaml"), "utf8")) as {
        datasources: Array<{ uid: string; type: string; url: string }>;
      };
      const uids = new Set(ds.datasources.filter((x) => x.type === "prometheus").map((x) => x.uid));
      for (const q of queries(d)) assert.ok(q.uid !== undefined && uids.has(q.uid), `${q.where}: data source ${q.uid}`);
    });
  });

  describe("docker/compose.yaml", () => {
    interface Service {
      image?: string;
      build?: { context: string; dockerfile: string };
      ports?: string[];
      volumes?: string[];
      command?: string[];
      environment?: Record<string, string>;
    }
    const load = async () =>
      parse(await readFile(root("docker/compose.yaml"), "utf8")) as { services: Record<string, Service>; volumes: Record<string, unknown> };
    const dockerDir = root("docker");

    it("mounts only files and directories that exist, and named volumes it declares", async () => {
      const compose = await load();
      assert.deepEqual(Object.keys(compose.services).sort(), ["grafana", "prometheus", "tessera"]);
      const tessera = compose.services["tessera"]!;
      assert.ok(existsSync(path.join(dockerDir, tessera.build!.context, tessera.build!.dockerfile)), "the Dockerfile");
      let binds = 0;
      for (const [name, s] of Object.entries(compose.services)) {
        for (const v of s.volumes ?? []) {
          const source = v.split(":")[0]!;
          if (source.startsWith(".")) {
            binds++;
            assert.ok(existsSync(path.join(dockerDir, source)), `${name}: ${source} does not exist`);
          } else {
            assert.ok(source in compose.volumes, `${name}: volume ${source} is not declared`);
          }
        }
      }
      assert.ok(binds >= 3, "Prometheus's config and Grafana's provisioning and dashboards");
    });

    it("publishes every port on the host's loopback only", async () => {
      const compose = await load();
      for (const [name, s] of Object.entries(compose.services)) {
        for (const p of s.ports ?? []) assert.match(p, /^127\.0\.0\.1:\d+:\d+$/, `${name}: ${p}`);
      }
    });

    it("has Prometheus scrape Tessera's HTTP port and Grafana read that Prometheus", async () => {
      const compose = await load();
      const dockerfile = await readFile(root("docker/Dockerfile"), "utf8");
      const httpPort = /TESSERA_HTTP_PORT=(\d+)/.exec(dockerfile)?.[1];
      assert.ok(httpPort);
      const promMount = compose.services["prometheus"]!.volumes!.find((v) => v.startsWith("./prometheus.yml:"))!;
      const configPath = promMount.split(":")[1]!;
      assert.ok(compose.services["prometheus"]!.command!.includes(`--config.file=${configPath}`));
      const prom = parse(await readFile(path.join(dockerDir, "prometheus.yml"), "utf8")) as {
        scrape_configs: Array<{ metrics_path?: string; static_configs: Array<{ targets: string[] }> }>;
      };
      const job = prom.scrape_configs[0]!;
      assert.equal(job.metrics_path ?? "/metrics", "/metrics");
      assert.deepEqual(job.static_configs[0]!.targets, [`tessera:${httpPort}`]);

      const ds = parse(await readFile(path.join(dockerDir, "grafana/provisioning/datasources/prometheus.yaml"), "utf8")) as {
        datasources: Array<{ url: string }>;
      };
      const promPort = compose.services["prometheus"]!.ports![0]!.split(":")[2];
      assert.equal(ds.datasources[0]!.url, `http://prometheus:${promPort}`);

      // The dashboard provider reads the directory the dashboards are mounted at.
      const grafana = compose.services["grafana"]!;
      const provider = parse(await readFile(path.join(dockerDir, "grafana/provisioning/dashboards/tessera.yaml"), "utf8")) as {
        providers: Array<{ options: { path: string } }>;
      };
      const dashMount = grafana.volumes!.find((v) => v.startsWith("./grafana/dashboards:"))!;
      assert.equal(provider.providers[0]!.options.path, dashMount.split(":")[1]);
      assert.ok(grafana.volumes!.some((v) => v.startsWith("./grafana/provisioning:/etc/grafana/provisioning")));
      const home = grafana.environment!["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]!;
      assert.ok(home.startsWith(dashMount.split(":")[1]! + "/"));
      assert.ok(existsSync(path.join(dockerDir, "grafana/dashboards", path.basename(home))));
      // Anonymous visitors view; nobody edits without the admin password.
      assert.equal(grafana.environment!["GF_AUTH_ANONYMOUS_ORG_ROLE"], "Viewer");
    });
  });
});

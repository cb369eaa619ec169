import assert from "node:assert/strict";
import pino from "pino";
import type { ActionRequest } from "../../sdk/contract";
import { appgwError } from "../../sdk/errors";
import type { ReferenceGatewayClient } from "../../sdk/reference";
import { EndpointWriter } from "../../gateway/router/endpoints";
import type { TableReport } from "../../gateway/router/report";
import {
  ConfigWatcher,
  TIMEOUT_SEC,
  type RouterConfigAnswer,
  type WatcherOptions,
} from "../../gateway/router/watcher";

type Report = ActionRequest<"routers.task_router_report">;
type Edit = { task: string; add: Record<string, string>; remove: string[] };

/** A control plane in memory, recording the calls the watcher makes. */
class FakeControlPlane {
  calls: string[] = [];
  reports: Report[] = [];
  edits: Edit[] = [];
  revision = 1;
  /** Routers registered by a report; a config poll of another one is refused. */
  known = new Set<string>();
  /** Answers of the next reports: an error to throw, or undefined to accept. */
  reportFailures: unknown[] = [];
  private wake: (() => void) | null = null;

  client(): WatcherOptions["client"] {
    return {
      call: (async (action: string, body: Report, opts?: { signal?: AbortSignal }) => {
        this.calls.push(action);
        if (opts?.signal?.aborted) throw appgwError("APPGW_CONNECTION", "aborted");
        if (action === "routers.task_router_report") {
          const failure = this.reportFailures.shift();
          if (failure !== undefined) throw failure;
          this.reports.push(body);
          this.known.add(body.router);
        } else if (action === "routers.unregister") {
          this.known.delete(body.router);
        }
        return {};
      }) as unknown as ReferenceGatewayClient["call"],
      routerConfig: async (
        body: ActionRequest<"appgw.get_router_config">,
        opts?: { signal?: AbortSignal },
      ) => {
        this.calls.push(`config ${body.router} since=${body.since ?? "-"} wait=${body.wait_sec}`);
        // The reference gateway's answer for a router it does not know (unclassified 400).
        if (!this.known.has(body.router)) throw appgwError("APPGW_BAD_REQUEST", "unknown router");
        if (body.since === this.revision) {
          await new Promise<void>((resolve) => {
            this.wake = resolve;
            opts?.signal?.addEventListener("abort", () => resolve());
          });
        }
        if (opts?.signal?.aborted) throw appgwError("APPGW_CONNECTION", "aborted");
        return { revision: this.revision, routes: [], services: [], members: {} };
      },
    };
  }

  writer(): EndpointWriter {
    const tasks = {
      editRuntime: async (task: string, add: Record<string, string>, remove: string[] = []) => {
        this.edits.push({ task, add, remove });
      },
    };
    return new EndpointWriter({ tasks }, pino({ level: "silent" }));
  }

  bump(): void {
    this.revision++;
    this.wake?.();
  }
}

const registration = { router: "edge", url: "http://localhost:1", version: "0.1.0" };
const empty: TableReport = { routes: [], tasks: [], endpoints: {} };
const until = async (cond: () => boolean, what = "condition") => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), `${what} not reached`);
};

function watcher(
  api: FakeControlPlane,
  apply: (c: RouterConfigAnswer) => Promise<TableReport> = async () => empty,
  heartbeatMs?: number,
): ConfigWatcher {
  return new ConfigWatcher({
    client: api.client(),
    logger: pino({ level: "silent" }),
    registration,
    apply,
    endpoints: api.writer(),
    heartbeatMs,
  });
}

describe("router configuration watcher", () => {
  it("registers with a report, applies the first configuration at once and reports its table", async () => {
    const api = new FakeControlPlane();
    const applied: number[] = [];
    const routes = [{ name: "llm", url: "http://localhost:1/llm", tasks: [] }];
    const w = watcher(api, async (c) => {
      applied.push(c.revision);
      return { ...empty, routes };
    });
    await w.start();
    await w.ready;
    assert.deepEqual(applied, [1]);
    const [first] = api.reports;
    assert.equal(first!.router, "edge");
    assert.equal(first!.url, "http://localhost:1");
    assert.equal(first!.version, "0.1.0");
    assert.equal(first!.timeout, TIMEOUT_SEC);
    assert.deepEqual(first!.status?.routes, [], "nothing routed before the first configuration");
    assert.equal(api.calls[1], "config edge since=- wait=0");
    await until(() => api.reports.length === 2, "the table's report");
    assert.deepEqual(api.reports[1]!.status?.routes, routes);
    assert.equal(typeof api.reports[1]!.status?.uptime, "number");
    assert.ok(Math.abs(api.reports[1]!.status!.last_update_timestamp! - Date.now() / 1000) < 5);
    await w.stop(false);
  });

  it("applies each new revision, reports at once only what changed and writes endpoints back", async () => {
    const api = new FakeControlPlane();
    let report: TableReport = empty;
    const w = watcher(api, async () => report);
    await w.start();
    await w.ready;
    await until(() => api.calls.includes("config edge since=1 wait=25"));
    const reports = api.reports.length;
    api.bump(); // same table: no report until the heartbeat
    await until(() => api.calls.includes("config edge since=2 wait=25"));
    assert.equal(api.reports.length, reports);

    report = {
      routes: [{ name: "llm", url: "u", tasks: [{ id: "t1", upstream_server: "10.0.0.1:80" }] }],
      tasks: ["t1"],
      endpoints: { t1: { endpoint: "u", browser_endpoint: "u" } },
    };
    api.bump();
    await until(() => api.reports.length === reports + 1, "the changed table's report");
    assert.deepEqual(api.reports.at(-1)!.status?.tasks, ["t1"]);
    await until(() => api.edits.length === 1, "the endpoint write-back");
    assert.deepEqual(api.edits[0], { task: "t1", add: report.endpoints.t1, remove: [] });

    report = empty; // the task is no longer routed: its endpoint comes off
    api.bump();
    await until(() => api.edits.length === 2, "the endpoint removal");
    assert.deepEqual(api.edits[1], {
      task: "t1",
      add: {},
      remove: ["endpoint", "browser_endpoint"],
    });
    await w.stop(false);
  });

  it("reports the whole status on every heartbeat and retries a failed report there", async () => {
    const api = new FakeControlPlane();
    const w = watcher(api, async () => empty, 50);
    await w.start();
    await w.ready;
    api.reportFailures.push(appgwError("APPGW_CONNECTION"));
    const before = api.reports.length;
    await until(() => api.reports.length >= before + 2, "heartbeats");
    assert.ok(api.reports.every((r) => r.router === "edge" && r.status?.routes !== undefined));
    await w.stop(false);
  });

  it("registers again at once when the control plane forgot the router", async () => {
    const api = new FakeControlPlane();
    const w = watcher(api);
    await w.start();
    await w.ready;
    await until(() => api.calls.includes("config edge since=1 wait=25"));
    const reports = api.reports.length;
    api.known.clear(); // the control plane restarted without it
    api.bump(); // the pending poll answers, the next one finds the router unknown
    await until(() => api.reports.length > reports && api.known.has("edge"), "re-registration");
    await until(() => api.calls.filter((c) => c === "config edge since=2 wait=25").length > 0);
    await w.stop(false);
  });

  it("retries a configuration it could not apply", async () => {
    const api = new FakeControlPlane();
    let attempts = 0;
    const w = watcher(api, async () => {
      if (++attempts === 1) throw appgwError("APPGW_CONNECTION", "tasks.get_all: unreachable");
      return empty;
    });
    await w.start();
    await w.ready;
    assert.equal(attempts, 2);
    await w.stop(false);
  });

  it("unregisters on a clean stop, and only then", async () => {
    const api = new FakeControlPlane();
    const w = watcher(api);
    await w.start();
    await w.ready;
    await w.stop(true);
    assert.equal(api.calls.at(-1), "routers.unregister");
    assert.equal(api.known.has("edge"), false);

    const kept = new FakeControlPlane();
    const w2 = watcher(kept);
    await w2.start();
    await w2.ready;
    await w2.stop(false);
    assert.ok(!kept.calls.includes("routers.unregister"));
  });

  it("rejects `ready` when stopped before the first configuration", async () => {
    const api = new FakeControlPlane();
    const client = api.client();
    // Never answers, like a long poll: only the abort signal ends it.
    client.routerConfig = (_body, opts) =>
      new Promise((_resolve, reject) =>
        opts?.signal?.addEventListener("abort", () => reject(appgwError("APPGW_CONNECTION"))),
      );
    const w = new ConfigWatcher({
      client,
      logger: pino({ level: "silent" }),
      registration,
      apply: async () => empty,
      endpoints: api.writer(),
    });
    await w.start();
    await w.stop(false);
    await assert.rejects(w.ready, /stopped before its first configuration/);
  });

  it("waits out an unreachable control plane at registration", async () => {
    const api = new FakeControlPlane();
    api.reportFailures.push(appgwError("APPGW_CONNECTION"), appgwError("APPGW_INTERNAL"));
    const w = watcher(api);
    await w.start();
    await w.ready;
    assert.equal(api.calls.filter((c) => c === "routers.task_router_report").length >= 3, true);
    await w.stop(false);
  });

  it("gives up at once on credentials the control plane refuses", async () => {
    const api = new FakeControlPlane();
    api.reportFailures.push(appgwError("APPGW_INVALID_CREDENTIALS"));
    const w = watcher(api);
    await assert.rejects(w.start(), { code: "APPGW_INVALID_CREDENTIALS" });
    assert.deepEqual(api.calls, ["routers.task_router_report"]);
  });
});

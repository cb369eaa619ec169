import assert from "node:assert/strict";
import pino from "pino";
import type { AppGatewayClient } from "../../sdk";
import type { ActionRequest } from "../../sdk/contract";
import { appgwError } from "../../sdk/errors";
import type { RouterReport } from "../../gateway/router/report";
import { ConfigWatcher, type RouterConfigAnswer } from "../../gateway/router/watcher";

/** A control plane in memory, recording the calls the watcher makes. */
class FakeControlPlane {
  calls: string[] = [];
  reports: ActionRequest<"routers.report">[] = [];
  revision = 1;
  knownRouters = new Set<string>();
  registrations = 0;
  private wake: (() => void) | null = null;

  client(): AppGatewayClient {
    const routers = {
      register: async () => {
        this.calls.push("register");
        const id = `router-${++this.registrations}`;
        this.knownRouters.add(id);
        return { id };
      },
      heartbeat: async (router: string) => {
        this.calls.push(`heartbeat ${router}`);
        if (!this.knownRouters.has(router)) throw appgwError("APPGW_ROUTER_NOT_FOUND");
      },
      getConfig: async (
        body: ActionRequest<"routers.get_config">,
        opts?: { signal?: AbortSignal },
      ) => {
        this.calls.push(`get_config ${body.router} since=${body.since ?? "-"}`);
        if (!this.knownRouters.has(body.router)) throw appgwError("APPGW_ROUTER_NOT_FOUND");
        if (body.since === this.revision) {
          await new Promise<void>((resolve) => {
            this.wake = resolve;
            opts?.signal?.addEventListener("abort", () => resolve());
          });
        }
        if (opts?.signal?.aborted) throw appgwError("APPGW_CONNECTION", "aborted");
        return { revision: this.revision, routes: [], services: [] };
      },
      report: async (body: ActionRequest<"routers.report">) => {
        this.reports.push(body);
      },
    };
    return { routers } as unknown as AppGatewayClient;
  }

  bump(): void {
    this.revision++;
    this.wake?.();
  }
}

const registration = {
  name: "r",
  url: "http://localhost:1",
  version: "0",
  queues: [],
  domain: "localhost",
};
const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), "condition not reached");
};

describe("router configuration watcher", () => {
  it("registers, applies the first configuration at once and reports it", async () => {
    const api = new FakeControlPlane();
    const applied: number[] = [];
    const w = new ConfigWatcher({
      client: api.client(),
      logger: pino({ level: "silent" }),
      apply: async (c: RouterConfigAnswer): Promise<RouterReport> => {
        applied.push(c.revision);
        return { routes: [], endpoints: [] };
      },
    });
    await w.start(registration);
    await w.ready;
    assert.equal(w.id, "router-1");
    assert.deepEqual(applied, [1]);
    assert.equal(api.calls[1], "get_config router-1 since=-");
    await until(() => api.reports.length === 1);
    await w.stop();
  });

  it("applies each new revision and reports only when the report changed", async () => {
    const api = new FakeControlPlane();
    let report: RouterReport = { routes: [], endpoints: [] };
    const w = new ConfigWatcher({
      client: api.client(),
      logger: pino({ level: "silent" }),
      apply: async () => report,
    });
    await w.start(registration);
    await w.ready;
    await until(() => api.reports.length === 1);
    api.bump(); // same report: not sent again
    await until(() => api.calls.includes("get_config router-1 since=2"));
    report = { routes: [{ route: "r1", targets: [], tasks: [] }], endpoints: [] };
    api.bump();
    await until(() => api.reports.length === 2);
    assert.deepEqual(api.reports[1]!.routes, report.routes);
    await w.stop();
  });

  it("registers again when the control plane forgot the router, and reports afresh", async () => {
    const api = new FakeControlPlane();
    const w = new ConfigWatcher({
      client: api.client(),
      logger: pino({ level: "silent" }),
      apply: async () => ({ routes: [], endpoints: [] }),
    });
    await w.start(registration);
    await until(() => api.reports.length === 1);
    api.knownRouters.clear();
    api.bump(); // the pending poll answers, the next one finds the router gone
    await until(() => w.id === "router-2" && api.reports.length === 2);
    assert.equal(api.reports[1]!.router, "router-2");
    await w.stop();
  });

  it("rejects `ready` when stopped before the first configuration", async () => {
    const client = {
      routers: {
        register: async () => ({ id: "x" }),
        // Never answers, like a long poll: only the abort signal ends it.
        getConfig: (_body: unknown, opts: { signal: AbortSignal }) =>
          new Promise((_resolve, reject) =>
            opts.signal.addEventListener("abort", () => reject(appgwError("APPGW_CONNECTION"))),
          ),
      },
    } as unknown as AppGatewayClient;
    const w = new ConfigWatcher({
      client,
      logger: pino({ level: "silent" }),
      apply: async () => ({ routes: [], endpoints: [] }),
    });
    await w.start(registration);
    await w.stop();
    await assert.rejects(w.ready, /stopped before its first configuration/);
  });

  it("gives up at once on credentials the control plane refuses", async () => {
    const client = {
      routers: {
        register: async () => {
          throw appgwError("APPGW_BAD_CREDENTIALS");
        },
      },
    } as unknown as AppGatewayClient;
    const w = new ConfigWatcher({
      client,
      logger: pino({ level: "silent" }),
      apply: async () => ({ routes: [], endpoints: [] }),
    });
    await assert.rejects(w.start(registration), { code: "APPGW_BAD_CREDENTIALS" });
  });
});

import assert from "node:assert/strict";
import { buildReport, endpointKeys, isEndpointKey } from "../../gateway/router/report";
import {
  buildRouteTable,
  lookupRoute,
  normalizeHost,
  type RouteTable,
} from "../../gateway/router/table";
import { routeConfig, service } from "./fixtures";

const ctx = { routerUrl: "http://gw.example:8080", domain: "apps.example" };

function table(
  routes = [routeConfig({ id: "r-llm", name: "llm", path: "/llm" })],
  services = [service({ task: "t1", static_route: "llm" })],
): RouteTable {
  return buildRouteTable({ revision: 7, routes, services, members: {} }, ctx);
}

function resolve(t: RouteTable, path: string, host = "gw.example:8080") {
  const m = lookupRoute(t, host, path);
  return m && { id: m.route.id, forwardPath: m.forwardPath };
}

describe("router host matching", () => {
  it("lower-cases and drops the port and one trailing dot", () => {
    assert.equal(normalizeHost("LLM.Apps.Example:8080"), "llm.apps.example");
    assert.equal(normalizeHost("llm.apps.example."), "llm.apps.example");
    assert.equal(normalizeHost("llm.apps.example.:443"), "llm.apps.example");
    assert.equal(normalizeHost("[::1]:8080"), "[::1]");
    assert.equal(normalizeHost(undefined), "");
  });

  it("routes a subdomain route on Host only, for every path", () => {
    const t = table(
      [routeConfig({ id: "r-chat", name: "chat", subdomain: "chat" })],
      [service({ task: "t1", static_route: "chat" })],
    );
    assert.deepEqual(resolve(t, "/any/path", "Chat.Apps.Example:8080"), {
      id: "r-chat",
      forwardPath: "/any/path",
    });
    assert.deepEqual(resolve(t, "/", "chat.apps.example."), { id: "r-chat", forwardPath: "/" });
    assert.equal(resolve(t, "/", "chat.apps.example.evil.com"), null);
    assert.equal(resolve(t, "/", "chat.apps.exampl"), null);
    assert.equal(resolve(t, "/", "gw.example"), null);
  });
});

describe("router route table", () => {
  it("matches a path route on segment boundaries only", () => {
    const t = table();
    assert.deepEqual(resolve(t, "/llm"), { id: "r-llm", forwardPath: "/" });
    assert.deepEqual(resolve(t, "/llm/"), { id: "r-llm", forwardPath: "/" });
    assert.deepEqual(resolve(t, "/llm/v1/chat"), { id: "r-llm", forwardPath: "/v1/chat" });
    assert.equal(resolve(t, "/llmx"), null);
    assert.equal(resolve(t, "/ll"), null);
    assert.equal(resolve(t, "/"), null);
  });

  it("prefers the longest matching prefix", () => {
    const t = table(
      [
        routeConfig({ id: "r-a", name: "a", path: "/a" }),
        routeConfig({ id: "r-ab", name: "ab", path: "/a/b" }),
      ],
      [service({ task: "t1", static_route: "a" }), service({ task: "t2", static_route: "ab" })],
    );
    assert.deepEqual(resolve(t, "/a/b/c"), { id: "r-ab", forwardPath: "/c" });
    assert.deepEqual(resolve(t, "/a/b"), { id: "r-ab", forwardPath: "/" });
    assert.deepEqual(resolve(t, "/a/bc"), { id: "r-a", forwardPath: "/bc" });
    assert.deepEqual(resolve(t, "/a"), { id: "r-a", forwardPath: "/" });
  });

  it("gives a single-endpoint route only the oldest service", () => {
    const t = table(
      [routeConfig({ id: "r-llm", name: "llm", path: "/llm" })],
      [
        service({ task: "young", static_route: "llm", created: "2026-11-28T12:00:00.000Z" }),
        service({ task: "old", static_route: "llm", created: "2026-11-28T09:00:00.000Z" }),
      ],
    );
    assert.deepEqual(
      t.byId.get("r-llm")!.targets.map((x) => x.task),
      ["old"],
    );
  });

  it("gives a load-balanced route every service attached to it, oldest first", () => {
    const t = table(
      [routeConfig({ id: "r-llm", name: "llm", path: "/llm", load_balancer: { enabled: true } })],
      [
        service({ task: "b", static_route: "llm", port: 2, created: "2026-11-28T12:00:00.000Z" }),
        service({ task: "a", static_route: "llm", port: 1, created: "2026-11-28T09:00:00.000Z" }),
        service({ task: "other", static_route: "elsewhere" }),
      ],
    );
    const route = t.byId.get("r-llm")!;
    assert.deepEqual(
      route.targets.map((x) => x.hostPort),
      ["10.0.0.1:1", "10.0.0.1:2"],
    );
    assert.equal(route.affinityCookie, "appgw_aff_r-llm");
    assert.equal(route.cookiePath, "/llm");
  });

  it("gives services without a static route an authenticated /service/<task>[-<endpoint>] route", () => {
    const t = table(
      [],
      [service({ task: "t1" }), service({ task: "t1", endpoint_name: "lab", port: 9000 })],
    );
    assert.deepEqual(resolve(t, "/service/t1/api/x"), { id: "service:t1:", forwardPath: "/api/x" });
    assert.deepEqual(resolve(t, "/service/t1-lab/tree"), {
      id: "service:t1:lab",
      forwardPath: "/tree",
    });
    const lab = t.byId.get("service:t1:lab")!;
    assert.equal(lab.authenticated, true);
    assert.deepEqual(lab.groups, []);
    assert.equal(lab.url, "http://gw.example:8080/service/t1-lab/");
    assert.equal(lab.targets[0]!.origin, "http://10.0.0.1:9000");
  });

  it("creates no route for a service naming a route that is not enabled", () => {
    const t = table([], [service({ task: "t1", static_route: "disabled" })]);
    assert.equal(t.routes.length, 0);
  });

  it("keeps TCP services out of HTTP routes", () => {
    const t = table(
      [routeConfig({ id: "r-llm", name: "llm", path: "/llm" })],
      [
        service({ task: "db", protocol: "tcp", static_route: "llm" }),
        service({ task: "db2", protocol: "tcp" }),
      ],
    );
    assert.deepEqual(t.byId.get("r-llm")!.targets, []);
    assert.equal(t.byPrefix.has("/service/db2"), false);
    assert.deepEqual(
      t.tcpServices.map((s) => s.task),
      ["db", "db2"],
    );
  });

  it("brackets IPv6 targets", () => {
    const t = table(undefined, [
      service({ task: "t1", static_route: "llm", address: "fd00::1", port: 80 }),
    ]);
    const target = t.byId.get("r-llm")!.targets[0]!;
    assert.equal(target.hostPort, "[fd00::1]:80");
    assert.equal(target.origin, "http://[fd00::1]:80");
  });

  it("keeps a target's key across rebuilds and changes its uid when the address moves", () => {
    const a = table().byId.get("r-llm")!.targets[0]!;
    const b = table().byId.get("r-llm")!.targets[0]!;
    const moved = table(undefined, [
      service({ task: "t1", static_route: "llm", address: "10.0.0.2" }),
    ]).byId.get("r-llm")!.targets[0]!;
    assert.equal(a.key, b.key);
    assert.equal(a.uid, b.uid);
    assert.equal(moved.key, a.key);
    assert.notEqual(moved.uid, a.uid);
  });

  it("keeps a route's signature when its targets or its users change, not when it turns public", () => {
    // Who may use a route is checked per open connection (tracker.ts): a change of groups must
    // not close the connections of users the route still admits.
    const base = table().byId.get("r-llm")!.signature;
    const moreTargets = table(undefined, [
      service({ task: "t1", static_route: "llm" }),
      service({ task: "t2", static_route: "llm" }),
    ]).byId.get("r-llm")!.signature;
    const restricted = table([
      routeConfig({ id: "r-llm", name: "llm", path: "/llm", restricted: true, groups: ["g1"] }),
    ]).byId.get("r-llm")!;
    const publicRoute = table([
      routeConfig({ id: "r-llm", name: "llm", path: "/llm", auth_enabled: false }),
    ]).byId.get("r-llm")!.signature;
    assert.equal(moreTargets, base);
    assert.equal(restricted.signature, base);
    assert.equal(restricted.restricted, true);
    assert.notEqual(publicRoute, base);
  });

  it("treats a route listing groups or users as restricted when the config does not say", () => {
    const legacy = table([
      routeConfig({ id: "r-llm", name: "llm", path: "/llm", users: ["u1"] }),
    ]).byId.get("r-llm")!;
    assert.equal(legacy.restricted, true);
    assert.equal(table().byId.get("r-llm")!.restricted, false);
  });
});

describe("router report", () => {
  it("reports every static route by name with its URL and targets, targets or not", () => {
    const t = table(
      [
        routeConfig({ id: "r-llm", name: "llm", path: "/llm", load_balancer: { enabled: true } }),
        routeConfig({ id: "r-chat", name: "chat", subdomain: "chat" }),
      ],
      [
        service({ task: "t1", static_route: "llm" }),
        service({ task: "t2", static_route: "llm", address: "10.0.0.2", port: 9000 }),
        service({ task: "t9" }),
      ],
    );
    const report = buildReport(t, [
      { task: "db", endpointName: null, endpoint: "tcp://gw.example:10000" },
    ]);
    assert.deepEqual(report.routes, [
      { name: "chat", url: "http://chat.apps.example:8080", tasks: [] },
      {
        name: "llm",
        url: "http://gw.example:8080/llm",
        tasks: [
          { id: "t1", upstream_server: "10.0.0.1:8000" },
          { id: "t2", upstream_server: "10.0.0.2:9000" },
        ],
      },
    ]);
    assert.deepEqual(report.tasks, ["db", "t1", "t2", "t9"], "ephemeral and TCP tasks too");
  });

  it("gives every routed task its endpoint and browser endpoint, suffixed per endpoint name", () => {
    const t = table(
      [routeConfig({ id: "r-llm", name: "llm", path: "/llm" })],
      [
        service({ task: "t1", static_route: "llm" }),
        service({ task: "t1", endpoint_name: "lab", port: 9000 }),
        service({ task: "t9" }),
        // Not routed: a single-endpoint route serves its first task only.
        service({ task: "late", static_route: "llm", created: "2026-11-28T11:00:00.000Z" }),
      ],
    );
    const report = buildReport(t, [
      { task: "db", endpointName: "psql", endpoint: "tcp://gw.example:10000" },
    ]);
    assert.deepEqual(report.endpoints, {
      t1: {
        endpoint: "http://gw.example:8080/llm",
        browser_endpoint: "http://gw.example:8080/llm",
        endpoint__lab: "http://gw.example:8080/service/t1-lab/",
        browser_endpoint__lab: "http://gw.example:8080/service/t1-lab/",
      },
      t9: {
        endpoint: "http://gw.example:8080/service/t9/",
        browser_endpoint: "http://gw.example:8080/service/t9/",
      },
      db: {
        endpoint__psql: "tcp://gw.example:10000",
        browser_endpoint__psql: "tcp://gw.example:10000",
      },
    });
  });

  it("gives subdomain routes the router's scheme and port", () => {
    const t = table(
      [routeConfig({ id: "r-chat", name: "chat", subdomain: "chat" })],
      [service({ task: "t1", static_route: "chat" })],
    );
    assert.equal(buildReport(t, []).endpoints.t1!.endpoint, "http://chat.apps.example:8080");
    const https = buildRouteTable(
      {
        revision: 1,
        routes: [routeConfig({ id: "r-chat", name: "chat", subdomain: "chat" })],
        services: [],
        members: {},
      },
      { routerUrl: "https://gw.example", domain: "apps.example" },
    );
    assert.equal(https.byId.get("r-chat")!.url, "https://chat.apps.example");
  });

  it("is the same for the same configuration in another order", () => {
    const routes = [
      routeConfig({ id: "r-a", name: "a", path: "/a" }),
      routeConfig({ id: "r-b", name: "b", path: "/b" }),
    ];
    const services = [
      service({ task: "t1", static_route: "a" }),
      service({ task: "t2", static_route: "b" }),
    ];
    assert.deepEqual(
      buildReport(table(routes, services), []),
      buildReport(table([...routes].reverse(), [...services].reverse()), []),
    );
  });
});

describe("endpoint keys", () => {
  it("follows ClearML's suffix rule and recognises only the router's keys", () => {
    assert.deepEqual(endpointKeys(null), {
      endpoint: "endpoint",
      browserEndpoint: "browser_endpoint",
    });
    assert.deepEqual(endpointKeys("api"), {
      endpoint: "endpoint__api",
      browserEndpoint: "browser_endpoint__api",
    });
    for (const key of ["endpoint", "endpoint__api", "browser_endpoint", "browser_endpoint__x"]) {
      assert.ok(isEndpointKey(key), key);
    }
    for (const key of ["endpoints", "_ENDPOINT", "endpoint_x", "_PORT__api", "_ROUTER"]) {
      assert.ok(!isEndpointKey(key), key);
    }
  });
});

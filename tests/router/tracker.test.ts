import assert from "node:assert/strict";
import { buildRouteTable, type RouteTable } from "../../gateway/router/table";
import { ConnectionTracker } from "../../gateway/router/tracker";
import { routeConfig, service } from "./fixtures";
import type { RouteConfig, ServiceConfig } from "../../sdk/contract";

const ctx = { routerUrl: "http://gw.example", domain: "localhost" };
const build = (routes: RouteConfig[], services: ServiceConfig[]): RouteTable =>
  buildRouteTable({ revision: 1, routes, services, members: {} }, ctx);

const llm = routeConfig({
  id: "r-llm",
  name: "llm",
  path: "/llm",
  load_balancer: { enabled: true },
});
const chat = routeConfig({ id: "r-chat", name: "chat", path: "/chat" });
const a = service({ task: "a", static_route: "llm", port: 1 });
const b = service({ task: "b", static_route: "llm", port: 2 });
const c = service({ task: "c", static_route: "chat", port: 3 });

/** Tracks one exchange per route target and returns the names of those closed. */
function trackAll(tracker: ConnectionTracker, table: RouteTable): string[] {
  const closed: string[] = [];
  for (const route of table.routes) {
    for (const target of route.targets) {
      tracker.add(route, target, { close: () => closed.push(`${route.name}/${target.task}`) });
    }
  }
  return closed;
}

describe("router connection tracking across table swaps", () => {
  it("leaves everything open when an unrelated route changes", () => {
    const tracker = new ConnectionTracker();
    const before = build([llm, chat], [a, b, c]);
    const closed = trackAll(tracker, before);
    tracker.reconcile(
      before,
      build([llm, chat, routeConfig({ id: "r-new", name: "new", path: "/new" })], [a, b, c]),
    );
    assert.deepEqual(closed, []);
  });

  it("closes only the exchanges of a target that left its route", () => {
    const tracker = new ConnectionTracker();
    const before = build([llm, chat], [a, b, c]);
    const closed = trackAll(tracker, before);
    tracker.reconcile(before, build([llm, chat], [a, c]));
    assert.deepEqual(closed, ["llm/b"]);
  });

  it("closes every exchange of a route that was disabled or deleted", () => {
    const tracker = new ConnectionTracker();
    const before = build([llm, chat], [a, b, c]);
    const closed = trackAll(tracker, before);
    tracker.reconcile(before, build([chat], [a, b, c]));
    assert.deepEqual(closed.sort(), ["llm/a", "llm/b"]);
  });

  it("closes every exchange of a route whose access changed", () => {
    const tracker = new ConnectionTracker();
    const before = build([llm, chat], [a, b, c]);
    const closed = trackAll(tracker, before);
    tracker.reconcile(before, build([llm, { ...chat, groups: ["admins"] }], [a, b, c]));
    assert.deepEqual(closed, ["chat/c"]);
  });

  it("closes the exchanges of a target that moved to another address", () => {
    const tracker = new ConnectionTracker();
    const before = build([llm], [a, b]);
    const closed = trackAll(tracker, before);
    tracker.reconcile(before, build([llm], [a, { ...b, address: "10.0.0.9" }]));
    assert.deepEqual(closed, ["llm/b"]);
  });

  it("forgets exchanges that ended on their own", () => {
    const tracker = new ConnectionTracker();
    const before = build([llm], [a]);
    const route = before.byId.get("r-llm")!;
    let closed = 0;
    const untrack = tracker.add(route, route.targets[0]!, { close: () => closed++ });
    untrack();
    tracker.reconcile(before, build([], []));
    assert.equal(closed, 0);
  });

  it("closes everything on shutdown", () => {
    const tracker = new ConnectionTracker();
    const closed = trackAll(tracker, build([llm, chat], [a, b, c]));
    tracker.closeAll();
    assert.equal(closed.length, 3);
  });
});

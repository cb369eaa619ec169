import assert from "node:assert/strict";
import { buildRouteTable, type RouteTable } from "../../gateway/router/table";
import { ConnectionTracker, type CloseReason } from "../../gateway/router/tracker";
import { routeConfig, service } from "./fixtures";
import type { RouteConfig, ServiceConfig } from "../../sdk/contract";

const ctx = { routerUrl: "http://gw.example", domain: "localhost" };
/** alice is in "team"; bob is in no group. */
const members = { alice: ["team"], bob: [] };
const build = (
  routes: RouteConfig[],
  services: ServiceConfig[],
  current: Record<string, string[]> = members,
): RouteTable => buildRouteTable({ revision: 1, routes, services, members: current }, ctx);

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

/**
 * Tracks one exchange per route target for each user (null: an unauthenticated one) and returns
 * the names of those closed, as `route/task` or `route/task/user`, with ` (access)` when the
 * user lost access rather than the route or target going away.
 */
function trackAll(
  tracker: ConnectionTracker,
  table: RouteTable,
  users: (string | null)[] = [null],
): string[] {
  const closed: string[] = [];
  for (const route of table.routes) {
    for (const target of route.targets) {
      for (const user of users) {
        const name = `${route.name}/${target.task}${user === null ? "" : `/${user}`}`;
        const close = (reason: CloseReason) =>
          closed.push(reason === "access" ? `${name} (access)` : name);
        tracker.add(route, target, { close }, user);
      }
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

  it("closes the exchanges of users a route no longer admits, and only theirs", () => {
    const tracker = new ConnectionTracker();
    const before = build([llm, chat], [a, b, c]);
    const closed = trackAll(tracker, before, ["alice", "bob"]);
    const restricted = { ...chat, restricted: true, groups: ["team"] };
    tracker.reconcile(before, build([llm, restricted], [a, b, c]));
    assert.deepEqual(closed, ["chat/c/bob (access)"]);
  });

  it("closes the exchanges of a user removed from the route's group", () => {
    const tracker = new ConnectionTracker();
    const guarded = { ...chat, restricted: true, groups: ["team"] };
    const before = build([guarded], [c], { alice: ["team"], carol: ["team"] });
    const closed = trackAll(tracker, before, ["alice", "carol"]);
    tracker.reconcile(before, build([guarded], [c], { alice: ["team"], carol: [] }));
    assert.deepEqual(closed, ["chat/c/carol (access)"]);
  });

  it("closes the exchanges of a deleted user on a route open to every signed-in user", () => {
    const tracker = new ConnectionTracker();
    const before = build([chat], [c]);
    const closed = trackAll(tracker, before, ["alice", "bob"]);
    tracker.reconcile(before, build([chat], [c], { alice: ["team"] }));
    assert.deepEqual(closed, ["chat/c/bob (access)"]);
  });

  it("keeps a route restricted when the last user of its access rule is deleted", () => {
    const tracker = new ConnectionTracker();
    const ruled = { ...chat, restricted: true, users: ["alice"] };
    const before = build([ruled], [c]);
    const closed = trackAll(tracker, before, ["alice"]);
    // alice is deleted: her rule now names no one, and bob must not get in either.
    const after = build([{ ...ruled, users: [] }], [c], { bob: [] });
    tracker.reconcile(before, after);
    assert.deepEqual(closed, ["chat/c/alice (access)"]);
    const bobs = trackAll(tracker, after, ["bob"]);
    tracker.reconcile(after, build([{ ...ruled, users: [] }], [c], { bob: [] }));
    assert.deepEqual(bobs, ["chat/c/bob (access)"]);
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
    const untrack = tracker.add(route, route.targets[0]!, { close: () => closed++ }, null);
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

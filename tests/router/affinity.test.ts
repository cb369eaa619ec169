import assert from "node:assert/strict";
import {
  affinityCookieName,
  deriveAffinityKey,
  pickTarget,
  signAffinity,
  verifyAffinity,
} from "../../gateway/router/affinity";
import { buildRouteTable, type RouteEntry, type Target } from "../../gateway/router/table";
import { routeConfig, service } from "./fixtures";

const key = deriveAffinityKey("the-api-secret-key");

function lbRoute(tasks: string[], loadBalanced = true): RouteEntry {
  const t = buildRouteTable(
    {
      revision: 1,
      routes: [
        routeConfig({
          id: "0123456789ab",
          name: "llm",
          path: "/llm",
          load_balancer: { enabled: loadBalanced },
        }),
      ],
      services: tasks.map((task, i) => service({ task, static_route: "llm", port: 8000 + i })),
      members: {},
    },
    { routerUrl: "http://gw.example", domain: "localhost" },
  );
  return t.byId.get("0123456789ab")!;
}

function counter(): () => number {
  let n = 0;
  return () => n++;
}

const allUp = () => true;
/** Every target up but those of these tasks. */
const downTasks =
  (...tasks: string[]) =>
  (t: Target) =>
    !tasks.includes(t.task);

const cookieValue = (setCookie: string) => setCookie.split(";")[0]!.split("=").slice(1).join("=");

describe("router session affinity", () => {
  it("derives the same key from the same secret, so every replica accepts the cookie", () => {
    assert.deepEqual(deriveAffinityKey("the-api-secret-key"), key);
    assert.notDeepEqual(deriveAffinityKey("another-secret"), key);
  });

  it("names the cookie after the first 8 characters of the route id", () => {
    assert.equal(affinityCookieName("0123456789ab"), "appgw_aff_01234567");
    assert.equal(affinityCookieName("a b;c"), "appgw_aff_a_b_c");
  });

  it("verifies the cookie it signed and returns the target key", () => {
    const value = signAffinity(key, "route-1", "t1:");
    assert.equal(verifyAffinity(key, "route-1", value), "t1:");
  });

  it("refuses a tampered target, a tampered signature, another route's cookie and another key", () => {
    const value = signAffinity(key, "route-1", "t1:");
    const mac = value.slice(value.lastIndexOf(".") + 1);
    assert.equal(verifyAffinity(key, "route-1", `t2:.${mac}`), null);
    assert.equal(
      verifyAffinity(key, "route-1", `${value.slice(0, -1)}${value.endsWith("A") ? "B" : "A"}`),
      null,
    );
    assert.equal(verifyAffinity(key, "route-2", value), null);
    assert.equal(verifyAffinity(deriveAffinityKey("other"), "route-1", value), null);
    assert.equal(verifyAffinity(key, "route-1", "no-signature"), null);
    assert.equal(verifyAffinity(key, "route-1", ".onlymac"), null);
    assert.equal(verifyAffinity(key, "route-1", ""), null);
  });

  it("handles target keys that contain dots", () => {
    const value = signAffinity(key, "route-1", "task.with.dots:");
    assert.equal(verifyAffinity(key, "route-1", value), "task.with.dots:");
  });

  it("honours a valid cookie naming a live target and sets no new cookie", () => {
    const route = lbRoute(["a", "b", "c"]);
    const b = route.targets[1]!;
    const pick = pickTarget(
      route,
      signAffinity(key, route.id, b.key),
      key,
      counter(),
      false,
      allUp,
    );
    assert.equal(pick.target, b);
    assert.equal(pick.setCookie, null);
  });

  it("keeps sessions on their target when another target is added", () => {
    const before = lbRoute(["a", "b"]);
    const cookie = signAffinity(key, before.id, before.targets[1]!.key);
    const after = lbRoute(["a", "b", "new"]);
    assert.equal(pickTarget(after, cookie, key, counter(), false, allUp).target.task, "b");
  });

  it("picks again and rewrites the cookie when its target is gone or its signature is wrong", () => {
    const route = lbRoute(["a", "b"]);
    const gone = pickTarget(
      route,
      signAffinity(key, route.id, "gone:"),
      key,
      counter(),
      true,
      allUp,
    );
    assert.ok(route.targets.includes(gone.target));
    assert.ok(gone.setCookie);
    assert.equal(verifyAffinity(key, route.id, cookieValue(gone.setCookie)), gone.target.key);
    assert.match(
      gone.setCookie,
      /^appgw_aff_01234567=.*; Path=\/llm; HttpOnly; SameSite=Lax; Secure$/,
    );

    const forged = pickTarget(route, "b:.forged", key, counter(), false, allUp);
    assert.ok(forged.setCookie);
    assert.doesNotMatch(forged.setCookie, /Secure/);
  });

  it("spreads new sessions round robin", () => {
    const route = lbRoute(["a", "b", "c"]);
    const next = counter();
    const tasks = [0, 1, 2, 3].map(
      () => pickTarget(route, undefined, key, next, false, allUp).target.task,
    );
    assert.deepEqual(tasks, ["a", "b", "c", "a"]);
  });

  it("moves a session whose target is down to the next target that is up, with a new cookie", () => {
    const route = lbRoute(["a", "b", "c"]);
    const onA = signAffinity(key, route.id, route.targets[0]!.key);
    const pick = pickTarget(route, onA, key, counter(), false, downTasks("a", "b"));
    assert.equal(pick.target.task, "c");
    assert.ok(pick.setCookie);
    assert.equal(verifyAffinity(key, route.id, cookieValue(pick.setCookie)), pick.target.key);
  });

  it("skips targets that are down in round robin while any is up", () => {
    const route = lbRoute(["a", "b", "c"]);
    const next = counter();
    const up = downTasks("b");
    const tasks = [0, 1, 2, 3].map(
      () => pickTarget(route, undefined, key, next, false, up).target.task,
    );
    assert.deepEqual(tasks, ["a", "c", "c", "a"]);
  });

  it("keeps the session's target when every target is down", () => {
    const route = lbRoute(["a", "b"]);
    const onB = signAffinity(key, route.id, route.targets[1]!.key);
    const pick = pickTarget(route, onB, key, counter(), false, downTasks("a", "b"));
    assert.equal(pick.target.task, "b");
    assert.equal(pick.setCookie, null);
    const fresh = pickTarget(route, undefined, key, counter(), false, downTasks("a", "b"));
    assert.equal(fresh.target.task, "a");
  });

  it("sets no cookie on routes that are not load balanced", () => {
    const route = lbRoute(["a"], false);
    const pick = pickTarget(route, undefined, key, counter(), false, allUp);
    assert.equal(pick.target.task, "a");
    assert.equal(pick.setCookie, null);
  });
});

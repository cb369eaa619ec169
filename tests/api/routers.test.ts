import assert from "node:assert/strict";
import type { EventEmitter } from "node:events";
import { EXTERNAL_SERVICE_TAG, RUNTIME } from "@appgw/sdk";
import { rejection, startTestGateway, userClient, type TestGateway } from "../helpers/gateway";

describe("control API: routers and the gateway's own service (appgw.*)", () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
  });
  after(() => t.stop());

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  describe("routers", () => {
    it("registers a router by its report and lists it with what it routes", async () => {
      const task = await t.client.tasks.create({ name: "routed", type: "application" });
      await t.client.tasks.editRuntime(task, { [RUNTIME.endpoint]: "http://r1.example/service/x" });
      await t.client.routers.report({
        router: "r1",
        url: "http://r1.example",
        version: "1.2.3",
        timeout: 30,
        status: {
          last_update_timestamp: 1_700_000_000,
          uptime: 42,
          tasks: [task],
          routes: [
            {
              name: "llm",
              url: "http://r1.example/llm",
              tasks: [{ id: task, upstream_server: "10.0.0.1:80" }],
            },
          ],
        },
      });
      const me = (await t.client.users.me()).user.id;
      assert.deepEqual(await t.client.routers.find("r1"), {
        router: "r1",
        url: "http://r1.example",
        version: "1.2.3",
        uptime: 42,
        last_update_timestamp: 1_700_000_000,
        routes: [{ name: "llm", tasks: [task] }],
        tasks: [{ id: task, name: "routed", user: me, endpoint: "http://r1.example/service/x" }],
      });
      const [trimmed] = (await t.client.routers.list({ task_only_fields: ["name"] })).filter(
        (r) => r.router === "r1",
      );
      assert.deepEqual(trimmed?.tasks, [{ id: task, name: "routed" }]);
      await t.client.routers.unregister("r1");
      assert.equal(await t.client.routers.find("r1"), undefined);
    });

    it("drops a router that does not report again within its timeout", async () => {
      await t.client.routers.report({ router: "brief", url: "http://brief.example", timeout: 1 });
      assert.ok(await t.client.routers.find("brief"));
      await sleep(1100);
      assert.equal(await t.client.routers.find("brief"), undefined);
      await t.client.routers.report({ router: "brief", url: "http://brief.example", timeout: 1 });
      assert.ok(await t.client.routers.find("brief"), "online again after its next report");
    });

    it("moves the revision on a report only when something changed", async () => {
      const report = (uptime: number, routes: { name: string; url: string; tasks: [] }[] = []) =>
        t.client.routers.report({
          router: "steady",
          url: "http://steady.example",
          status: { uptime, last_update_timestamp: uptime, routes },
        });
      await report(1);
      const rev = await t.client.watch(undefined, 0);
      await report(2);
      assert.equal(await t.client.watch(undefined, 0), rev, "only the uptime changed");
      await report(3, [{ name: "new", url: "http://steady.example/new", tasks: [] }]);
      assert.notEqual(await t.client.watch(undefined, 0), rev, "a new route");
    });

    it("takes reports only from administrators and service accounts", async () => {
      const { client } = await userClient(t, "not-a-router");
      const err = await rejection(() =>
        client.routers.report({ router: "mine", url: "http://mine.example" }),
      );
      assert.deepEqual([err.statusCode, err.subcode], [403, 20]);
    });
  });

  describe("appgw.watch", () => {
    it("answers at once when the caller's revision is old, else when it changes", async () => {
      const rev = await t.client.watch(undefined, 0);
      assert.equal(await t.client.watch(rev - 1, 5), rev, "an old revision answers at once");
      const waiting = t.client.watch(rev, 5);
      await sleep(50);
      await t.client.queues.create("wakes-watchers");
      assert.ok((await waiting) > rev);
    });

    it("answers after wait_sec when nothing changes", async () => {
      const rev = await t.client.watch(undefined, 0);
      const started = Date.now();
      assert.equal(await t.client.watch(rev, 0.3), rev);
      assert.ok(Date.now() - started >= 250);
    });

    /** Long polls waiting in the gateway now. */
    const waiters = () =>
      (t.gw.api.store as unknown as { events: EventEmitter }).events.listenerCount("change");

    it("stops waiting when the client goes away", async () => {
      const rev = await t.client.watch(undefined, 0);
      const abort = new AbortController();
      const waiting = t.client.watch(rev, 30, { signal: abort.signal });
      await sleep(50);
      assert.equal(waiters(), 1);
      abort.abort();
      assert.equal((await rejection(() => waiting)).code, "APPGW_CONNECTION");
      await sleep(50);
      assert.equal(waiters(), 0, "the gateway let go of the request");
    });

    it("answers a pending long poll when the gateway shuts down", async () => {
      const rev = await t.client.watch(undefined, 0);
      const waiting = t.client.watch(rev, 30).catch((err: unknown) => err);
      await sleep(50);
      const started = Date.now();
      await t.restart();
      assert.ok(Date.now() - started < 5000, "the shutdown did not wait for the poll");
      const answer = await waiting;
      assert.ok(answer === rev || (answer as { code?: string }).code === "APPGW_CONNECTION");
    });
  });

  describe("appgw.get_router_config", () => {
    it("gives enabled routes, running external services and every user's groups, without registering the router", async () => {
      const { id: team } = await t.client.groups.save({ name: "config-team" });
      const { id: user } = await t.client.addUser({ name: "config-user" });
      await t.client.groups.save({ id: team, users: [user] });
      const enabled = await t.client.routes.save({
        name: "cfg-on",
        type: "path",
        path: "/cfg-on",
        user_groups: [team],
      });
      await t.client.routes.save({
        name: "cfg-off",
        type: "path",
        path: "/cfg-off",
        enabled: false,
      });
      const queue = await t.client.queues.ensure("cfg-q");
      const service = async (
        name: string,
        runtime: Record<string, string>,
        tags = [EXTERNAL_SERVICE_TAG],
      ) => {
        const id = await t.client.tasks.create({ name, type: "application", system_tags: tags });
        await t.client.tasks.editRuntime(id, runtime);
        await t.client.tasks.enqueue(id, queue);
        await t.client.tasks.report("started", id);
        return id;
      };
      const http = {
        [RUNTIME.service]: "EXTERNAL",
        [RUNTIME.address]: "10.0.0.5",
        [RUNTIME.port]: "8000",
      };
      const mine = await service("mine", { ...http, [RUNTIME.router]: "cfg-router" });
      await service("theirs", { ...http, [RUNTIME.router]: "another-router" });
      const shared = await service("shared", {
        ...http,
        [`${RUNTIME.service}__api`]: "EXTERNAL",
        [`${RUNTIME.port}__api`]: "9000",
        [`${RUNTIME.mode}__api`]: "path",
        [`${RUNTIME.modeParam}__api`]: "cfg-on",
      });
      await service("untagged", http, []);

      const config = await t.client.routerConfig({ router: "cfg-router" });
      assert.equal(config.revision, await t.client.watch(undefined, 0));
      const route = config.routes.find((r) => r.id === enabled);
      assert.deepEqual(route, {
        id: enabled,
        name: "cfg-on",
        path: "/cfg-on",
        subdomain: null,
        load_balancer: { enabled: true },
        auth_enabled: true,
        restricted: true,
        groups: [team],
        users: [],
      });
      assert.equal(
        config.routes.find((r) => r.name === "cfg-off"),
        undefined,
        "disabled routes are left out",
      );
      const services = config.services.map((s) => [
        s.task_name,
        s.endpoint_name,
        s.port,
        s.static_route,
      ]);
      assert.deepEqual(services, [
        ["mine", null, 8000, null],
        ["shared", null, 8000, null],
        ["shared", "api", 9000, "cfg-on"],
      ]);
      const first = config.services.find((s) => s.task === mine);
      assert.equal(first?.queue, "cfg-q");
      assert.equal(first?.owner.name, "admin");
      assert.equal(first?.protocol, "http");
      assert.equal(first?.address, "10.0.0.5");
      assert.ok(config.services.some((s) => s.task === shared));
      assert.deepEqual(config.members[user], ["users", team]);
      assert.equal(
        await t.client.routers.find("cfg-router"),
        undefined,
        "reading it registers nothing",
      );
    });

    it("waits while the caller's revision is current", async () => {
      const { revision } = await t.client.routerConfig({ router: "poll" });
      const waiting = t.client.routerConfig({ router: "poll", since: revision, wait_sec: 5 });
      await sleep(50);
      await t.client.routes.save({ name: "poll-route", type: "path", path: "/poll-route" });
      const next = await waiting;
      assert.ok(next.revision > revision);
      assert.ok(next.routes.some((r) => r.name === "poll-route"));
    });
  });
});

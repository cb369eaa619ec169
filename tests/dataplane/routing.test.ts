// Data plane, end to end: a real gateway (control API, router, agent running echo apps) and real
// HTTP, SSE and WebSocket traffic through the router.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { performance } from "node:perf_hooks";
import { request } from "undici";
import { WebSocketServer } from "ws";
import {
  attachUpstream,
  createRoute,
  echoOf,
  errorCode,
  routerBase,
  send,
  setCookies,
  startDataplaneGateway,
  startEchoApp,
  startUpstream,
  subdomainHost,
  waitRouted,
  WsProbe,
} from "../helpers/dataplane";
import { eventually, rejection, type TestGateway } from "../helpers/gateway";
import { EXTERNAL_SERVICE_TAG, RUNTIME } from "@appgw/sdk";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("data plane: routing through a real router", () => {
  let t: TestGateway;
  let wsBase: string;
  before(async () => {
    t = await startDataplaneGateway();
    wsBase = routerBase(t).replace(/^http/, "ws");
  });
  after(() => t.stop());

  /** A public path route (default `/<name>`) with an echo app; returns the route and task ids. */
  async function publicRouteWithApp(
    name: string,
    path = `/${name}`,
  ): Promise<{ route: string; task: string }> {
    const route = await createRoute(t, { name, path, public: true });
    const task = await startEchoApp(t, name);
    await waitRouted(t, `${path}/`, { task });
    return { route, task };
  }

  describe("path, subdomain and service routes", () => {
    it("routes a path route to its target with the prefix stripped, X-Forwarded-Prefix set and the query kept", async () => {
      const { task } = await publicRouteWithApp("llm");

      const deep = echoOf(await send(t, "/llm/v1/chat/completions?stream=true&x=a%20b"));
      assert.equal(deep.task, task);
      assert.equal(deep.url, "/v1/chat/completions?stream=true&x=a%20b");
      assert.equal(deep.headers["x-forwarded-prefix"], "/llm");

      assert.equal(echoOf(await send(t, "/llm")).url, "/");
      assert.equal(echoOf(await send(t, "/llm?q=1")).url, "/?q=1");
      assert.equal(echoOf(await send(t, "/llm/")).url, "/");

      for (const path of ["/llmx", "/llmx/v1", "/ll", "/"]) {
        const reply = await send(t, path);
        assert.equal(reply.status, 404, `${path} must not match /llm`);
        assert.equal(errorCode(reply), "APPGW_NO_ROUTE", path);
      }
    });

    it("picks the longest path prefix, on segment boundaries", async () => {
      const { task: v2 } = await publicRouteWithApp("llm-v2", "/llm/v2");
      const llm = echoOf(await send(t, "/llm/")).task;
      assert.notEqual(llm, v2);
      const cases: [string, string, string][] = [
        ["/llm/v2/models", v2, "/models"],
        ["/llm/v2", v2, "/"],
        ["/llm/v2x/models", llm, "/v2x/models"],
        ["/llm/v1/models", llm, "/v1/models"],
      ];
      for (const [path, task, url] of cases) {
        const echo = echoOf(await send(t, path));
        assert.equal(echo.task, task, path);
        assert.equal(echo.url, url, path);
      }
    });

    it("routes a subdomain route on its Host, in any case and with a trailing dot, and no other host", async () => {
      await createRoute(t, { name: "llm-sub", subdomain: "llm", public: true });
      const task = await startEchoApp(t, "llm-sub");
      const host = subdomainHost(t, "llm");
      const echo = await waitRouted(t, "/v1/models?x=1", { task, headers: { host } });
      assert.equal(echo.url, "/v1/models?x=1", "subdomain routes receive the path unchanged");
      assert.equal(echo.headers["x-forwarded-prefix"], undefined);
      assert.equal(echo.headers.host, host, "the client's Host is passed on");

      const port = new URL(t.routerUrl).port;
      for (const h of [`LLM.localhost:${port}`, `LLM.LOCALHOST.:${port}`, "llm.localhost."]) {
        const other = echoOf(await send(t, "/x", { headers: { host: h } }));
        assert.equal(other.task, task, `Host ${h}`);
      }
      for (const h of [
        `other.localhost:${port}`,
        `localhost:${port}`,
        `llm.localhost.evil.example:${port}`,
        `xllm.localhost:${port}`,
      ]) {
        const reply = await send(t, "/v1/models", { headers: { host: h } });
        assert.equal(reply.status, 404, `Host ${h} must not reach the subdomain route`);
      }
    });

    it("gives a task without a static route an ephemeral /service/<task>/ route and writes the endpoint back to the task", async () => {
      const task = await startEchoApp(t, null, "ephemeral-echo");
      const runtime = await eventually(
        async () => {
          const got = await t.client.tasks.get(task);
          return got.runtime?.[RUNTIME.endpoint] ? got.runtime : undefined;
        },
        10_000,
        "endpoint written back",
      );
      assert.equal(runtime[RUNTIME.endpoint], `${t.routerUrl}/service/${task}/`);
      assert.equal(runtime[RUNTIME.browserEndpoint], `${t.routerUrl}/service/${task}/`);
      // What the agent wrote to ask for it is still there.
      assert.equal(runtime[RUNTIME.service], "EXTERNAL");
      assert.equal(runtime[RUNTIME.address], "127.0.0.1");

      const authorization = `Bearer ${await t.client.token()}`;
      const echo = echoOf(
        await send(t, `/service/${task}/api/x?y=1`, { headers: { authorization } }),
      );
      assert.equal(echo.task, task);
      assert.equal(echo.url, "/api/x?y=1");
      assert.equal(echo.headers["x-forwarded-prefix"], `/service/${task}`);
      assert.equal(echo.headers["x-appgw-user"], "admin");

      const anonymous = await send(t, `/service/${task}/api/x`);
      assert.equal(anonymous.status, 401, "ephemeral routes are authenticated");
    });

    it("stopping a task ends its app, its route and the endpoint written on it", async () => {
      const task = await startEchoApp(t, null, "stopped-echo");
      await eventually(
        async () => (await t.client.tasks.get(task)).runtime?.[RUNTIME.endpoint],
        10_000,
        "endpoint written back",
      );
      const authorization = `Bearer ${await t.client.token()}`;
      echoOf(await send(t, `/service/${task}/`, { headers: { authorization } }));

      await t.client.tasks.stop(task);
      await eventually(
        async () =>
          (await send(t, `/service/${task}/`, { headers: { authorization } })).status === 404,
        5000,
        "route gone",
      );
      const runtime = await eventually(
        async () => {
          const got = await t.client.tasks.get(task);
          return got.runtime?.[RUNTIME.endpoint] === undefined ? got.runtime : undefined;
        },
        5000,
        "endpoint removed",
      );
      assert.equal(runtime?.[RUNTIME.browserEndpoint], undefined);
      assert.equal(runtime?.[RUNTIME.service], "EXTERNAL", "the task's own request stays");
      const log = await eventually(
        async () => {
          const lines = await t.client.tasks.getLog(task);
          return lines.some((l) => l.includes("echo service closed")) ? lines : undefined;
        },
        5000,
        "the agent ended the app",
      );
      assert.ok(
        log.some((l) => l.includes("started task")),
        log.join("\n"),
      );
    });

    it("reports what it routes: the route turns active with the router's URL and the task's target", async () => {
      const { route, task } = await publicRouteWithApp("reported");
      const read = await eventually(
        async () => {
          const r = await t.client.routes.get(route);
          return r?.status === "active" ? r : undefined;
        },
        5000,
        "route active",
      );
      assert.deepEqual(read.urls, [`${t.routerUrl}/reported`]);
      const routed = read.tasks?.find((x) => x.id === task);
      assert.ok(routed, JSON.stringify(read.tasks));
      assert.match(String(routed.target), /^127\.0\.0\.1:\d+$/);
      const router = await t.client.routers.find(t.gw.router!.id);
      assert.ok(router, "the router is registered under its name");
      assert.equal(router.url, t.routerUrl);
      assert.ok(router.routes?.some((r) => r.name === "reported" && r.tasks?.includes(task)));
    });

    it("MEASURE: routes the first request soon after routers.add_or_update_route returns (< 1000 ms)", async () => {
      // Attached by hand: the SDK's own check refuses a route that does not exist yet.
      const upstream = await startUpstream((_req, res) => res.end("fresh"));
      try {
        await attachUpstream(t, "fresh", upstream.port);
        await sleep(300); // the router has seen the task, attached to nothing
        assert.equal((await send(t, "/fresh/")).status, 404);

        await createRoute(t, { name: "fresh", public: true });
        const created = performance.now();
        let tries = 0;
        let elapsed = -1;
        while (performance.now() - created < 5000) {
          tries++;
          const reply = await send(t, "/fresh/");
          if (reply.status === 200) {
            elapsed = performance.now() - created;
            assert.equal(reply.text, "fresh");
            break;
          }
          await sleep(1);
        }
        console.log(
          `      (add_or_update_route -> first routed request: ${elapsed.toFixed(1)} ms, ${tries} tries)`,
        );
        assert.ok(elapsed >= 0, "the route never routed within 5 s");
        assert.ok(elapsed < 1000, `took ${elapsed.toFixed(1)} ms`);
      } finally {
        await upstream.close();
      }
    });
  });

  describe("removing a route closes its connections and only its connections", () => {
    /** Opens a WebSocket and an SSE stream on `/<name>` and a WebSocket on `/<other>`. */
    async function openConnections(name: string, other: string) {
      const live = await WsProbe.open(`${wsBase}/${name}/ws`);
      await live.message(0); // the echo app's hello
      const steady = await WsProbe.open(`${wsBase}/${other}/ws`);
      await steady.message(0);

      const sse = await request(`${routerBase(t)}/${name}/events/sse?count=1000&interval_ms=20`);
      assert.equal(sse.statusCode, 200);
      let events = 0;
      const ended = (async () => {
        try {
          for await (const chunk of sse.body) {
            events += String(chunk).split("data:").length - 1;
          }
          return { how: "end", at: Date.now() };
        } catch {
          return { how: "error", at: Date.now() };
        }
      })();
      await eventually(async () => events > 0, 3000, "first SSE event");
      return { live, steady, sse: { ended, events: () => events } };
    }

    async function checkRemoval(remove: (route: string) => Promise<void>, name: string) {
      const other = `${name}-other`;
      await publicRouteWithApp(other);
      const { route } = await publicRouteWithApp(name);
      const c = await openConnections(name, other);
      try {
        const started = Date.now();
        await remove(route);

        const wsClosed = await c.live.whenClosed(3000);
        const sseEnded = await Promise.race([
          c.sse.ended,
          sleep(3000).then(() => ({ how: "still open", at: Date.now() })),
        ]);
        assert.notEqual(sseEnded.how, "still open", "the in-flight SSE stream must end");
        assert.ok(c.sse.events() < 1000, "the stream was cut, not completed");
        const gone = await eventually(
          async () => {
            const reply = await send(t, `/${name}/x`);
            return reply.status === 404 ? reply : undefined;
          },
          2000,
          "404 after removal",
        );
        assert.equal(errorCode(gone), "APPGW_NO_ROUTE");
        console.log(
          `      (WebSocket closed after ${wsClosed.at - started} ms, SSE ended (${sseEnded.how}) after ${sseEnded.at - started} ms)`,
        );

        assert.equal(c.steady.closed, null, "the WebSocket of the other route stays open");
        const echoed = await c.steady.roundTrip("still here");
        assert.equal(echoed.data.toString(), "still here");
        assert.equal((await send(t, `/${other}/x`)).status, 200);
      } finally {
        c.live.close();
        c.steady.close();
      }
    }

    it("disabling a route answers 404 and closes its open WebSocket and SSE stream, not another route's WebSocket", async () => {
      // `force`: the route is active.
      await checkRemoval((route) => t.client.routes.setEnabled(route, false, true), "live-dis");
    });

    it("deleting a route answers 404 and closes its open WebSocket and SSE stream, not another route's WebSocket", async () => {
      await checkRemoval(async (route) => {
        await t.client.routes.delete([route], true);
      }, "live-del");
    });
  });

  it("a single-endpoint route serves its first task only, and the agent fails a second one as ClearML's SDK does", async () => {
    const { route, task: first } = await publicRouteWithApp("solo");
    await eventually(
      async () => (await t.client.routes.get(route))?.status === "active",
      5000,
      "route active",
    );

    // Through the agent: the second echo app fails with the SDK's refusal as its reason.
    const second = await startEchoApp(t, "solo", "solo-second");
    const failed = await eventually(
      async () => {
        const got = await t.client.tasks.get(second);
        return got.status === "failed" ? got : undefined;
      },
      10_000,
      "second task failed",
    );
    const reason = failed.status_reason ?? "";
    assert.match(reason, /single-endpoint/);
    assert.ok(reason.includes(first), reason);
    assert.ok(!(failed.system_tags ?? []).includes(EXTERNAL_SERVICE_TAG));

    // Attached without the SDK's check, the control API refuses it (the gateway's own 400/1103).
    const err = await rejection(() => attachUpstream(t, "solo", 9));
    assert.equal(err.statusCode, 400);
    assert.equal(err.subcode, 1103);
    for (let i = 0; i < 5; i++) assert.equal(echoOf(await send(t, "/solo/")).task, first);
  });

  it("the agent fails a task asking for a static route that does not exist or is disabled", async () => {
    const missing = await startEchoApp(t, "no-such-route", "orphan");
    await t.client.routes.save({ name: "off", type: "path", path: "/off", enabled: false });
    const disabled = await startEchoApp(t, "off", "off-app");
    for (const [task, why] of [
      [missing, /static route 'no-such-route' does not exist/],
      [disabled, /static route 'off' is disabled/],
    ] as const) {
      const failed = await eventually(
        async () => {
          const got = await t.client.tasks.get(task);
          return got.status === "failed" ? got : undefined;
        },
        10_000,
        `task ${task} failed`,
      );
      assert.match(failed.status_reason ?? "", why);
    }
  });

  it("the agent fails a task whose entry point it does not run, saying why", async () => {
    const queue = await t.client.queues.ensure("default");
    const task = await t.client.tasks.create({
      name: "python-script",
      type: "training",
      script: { entry_point: "train.py" },
    });
    await t.client.tasks.enqueue(task, queue);
    const failed = await eventually(
      async () => {
        const got = await t.client.tasks.get(task);
        return got.status === "failed" ? got : undefined;
      },
      10_000,
      "task failed",
    );
    assert.match(failed.status_reason ?? "", /unsupported entry point 'train\.py'/);
  });

  describe("load-balanced route with session affinity", () => {
    let tasks: string[];
    let cookieName: string;
    before(async () => {
      const id = await createRoute(t, { name: "lb", public: true, loadBalanced: true });
      cookieName = `appgw_aff_${id.slice(0, 8).replace(/[^A-Za-z0-9_-]/g, "_")}`;
      tasks = [await startEchoApp(t, "lb", "lb-a"), await startEchoApp(t, "lb", "lb-b")];
      const seen = new Set<string>();
      await eventually(
        async () => {
          const reply = await send(t, "/lb/x");
          if (reply.status === 200) seen.add(echoOf(reply).task);
          return seen.size === 2;
        },
        10_000,
        "two targets",
      );
    });

    /** A request to /lb with an optional affinity cookie value. */
    async function hit(cookie?: string) {
      const reply = await send(t, "/lb/x", {
        headers: cookie === undefined ? {} : { cookie: `${cookieName}=${cookie}; theme=dark` },
      });
      const echo = echoOf(reply);
      const set = setCookies(reply.headers).find((c) => c.startsWith(`${cookieName}=`));
      const value = set?.slice(cookieName.length + 1).split(";")[0];
      return { task: echo.task, set, value, echo };
    }

    it("spreads requests without a cookie over both targets, setting a signed affinity cookie", async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 6; i++) {
        const r = await hit();
        seen.add(r.task);
        assert.ok(r.set, "every request without a cookie gets one");
        assert.match(r.set, /; Path=\/lb(;|$)/);
        assert.match(r.set, /; HttpOnly(;|$)/);
        assert.match(r.set, /; SameSite=Lax(;|$)/);
      }
      assert.deepEqual([...seen].sort(), [...tasks].sort());
    });

    it("sends every request with the affinity cookie to the same target, without resetting it", async () => {
      for (const first of [await hit(), await hit()]) {
        for (let i = 0; i < 6; i++) {
          const r = await hit(first.value);
          assert.equal(r.task, first.task);
          assert.equal(r.set, undefined);
          assert.equal(r.echo.headers.cookie, "theme=dark", "the affinity cookie stays here");
        }
      }
    });

    it("ignores a tampered affinity cookie: a target is picked again and a new cookie set", async () => {
      const { value, task } = await hit();
      const dot = value!.lastIndexOf(".");
      const sig = value!.slice(dot + 1);
      const flipped = value!.slice(0, dot + 1) + (sig[0] === "A" ? "B" : "A") + sig.slice(1);
      const otherKey = `${encodeURIComponent(tasks.find((x) => x !== task)!)}%3A`;
      const forged = [
        flipped,
        `${otherKey}.${sig}`, // the other target's key under a signature it does not have
        `${encodeURIComponent(task)}:`, // no signature at all
        "garbage",
      ];
      for (const bad of forged) {
        const r = await hit(bad);
        assert.ok(r.set, `cookie ${bad} must be replaced`);
        assert.notEqual(r.value, bad);
        const again = await hit(r.value);
        assert.equal(again.task, r.task, "the new cookie sticks");
      }
    });

    it("moves a session whose target stopped to the other target with a new cookie, closing only that target's WebSockets", async () => {
      const first = await hit();
      let second = await hit();
      while (second.task === first.task) second = await hit();
      const survivor = second.task;
      const wsUrl = `${wsBase}/lb/socket`;
      const doomed = await WsProbe.open(wsUrl, {
        headers: { cookie: `${cookieName}=${first.value}` },
      });
      const kept = await WsProbe.open(wsUrl, {
        headers: { cookie: `${cookieName}=${second.value}` },
      });
      try {
        const helloTask = async (ws: WsProbe) =>
          (JSON.parse((await ws.message(0)).data.toString()) as { task: string }).task;
        assert.equal(await helloTask(doomed), first.task, "WebSockets follow the cookie too");
        assert.equal(await helloTask(kept), survivor);

        await t.client.tasks.stop(first.task);
        const moved = await eventually(
          async () => {
            const r = await hit(first.value);
            return r.task === survivor ? r : undefined;
          },
          5000,
          "session moved",
        );
        assert.ok(moved.set, "the moved session gets a cookie naming its new target");
        assert.notEqual(moved.value, first.value);
        for (let i = 0; i < 4; i++) {
          const r = await hit(moved.value);
          assert.equal(r.task, survivor);
          assert.equal(r.set, undefined);
        }
        await doomed.whenClosed(3000);
        assert.equal(kept.closed, null, "the other target's WebSocket stays open");
        assert.equal((await kept.roundTrip("still")).data.toString(), "still");
      } finally {
        doomed.close();
        kept.close();
      }
    });
  });

  describe("streams", () => {
    before(async () => {
      await publicRouteWithApp("stream");
    });

    it("delivers SSE events one by one as the app sends them, not all at the end", async () => {
      const started = performance.now();
      const res = await request(`${routerBase(t)}/stream/chat/sse?count=5&interval_ms=120`);
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers["content-type"]), /text\/event-stream/);
      const arrivals: number[] = [];
      let text = "";
      for await (const chunk of res.body) {
        const s = String(chunk);
        text += s;
        for (let i = 0; i < s.split("data:").length - 1; i++) {
          arrivals.push(performance.now() - started);
        }
      }
      const done = performance.now() - started;
      assert.equal(arrivals.length, 5, text);
      // Sent at about 120, 240, ..., 600 ms.
      assert.ok(arrivals[0]! < done - 300, `first event at ${arrivals[0]} ms, end at ${done} ms`);
      assert.ok(arrivals[4]! - arrivals[0]! > 300, `events arrived together: ${arrivals}`);
      // Each event on its own (one late tick may merge two under load, not more).
      const gaps = arrivals.slice(1).map((a, i) => a - arrivals[i]!);
      assert.ok(gaps.filter((g) => g > 40).length >= 3, `gaps between events: ${gaps}`);
    });

    it("streams a chunked ~1 MB POST body to the target intact", async () => {
      const piece = (i: number) =>
        Buffer.from(
          `${String(i).padStart(6, "0")}:${"abcdefghijklmnopqrstuvwxyz0123456789".repeat(1820)}\n`,
        );
      const pieces = Array.from({ length: 16 }, (_, i) => piece(i));
      const whole = Buffer.concat(pieces);
      assert.ok(whole.length > 1_000_000);
      const reply = await send(t, "/stream/upload", {
        method: "POST",
        headers: { "content-type": "application/octet-stream" },
        body: Readable.from(pieces),
      });
      const echo = echoOf(reply);
      assert.equal(echo.method, "POST");
      assert.equal(echo.headers["transfer-encoding"], "chunked", "streamed, not buffered");
      assert.equal(echo.body.length, whole.length);
      assert.equal(
        createHash("sha256").update(echo.body).digest("hex"),
        createHash("sha256").update(whole).digest("hex"),
      );
    });

    it("carries a WebSocket through the router: hello, text and binary echoes", async () => {
      const ws = await WsProbe.open(`${wsBase}/stream/socket?room=1`, { protocols: ["chat.v1"] });
      try {
        const hello = JSON.parse((await ws.message(0)).data.toString()) as { url: string };
        assert.equal(hello.url, "/socket?room=1", "prefix stripped, query kept");
        assert.equal(ws.ws.protocol, "chat.v1");
        const text = await ws.roundTrip("héllo wörld");
        assert.equal(text.binary, false);
        assert.equal(text.data.toString(), "héllo wörld");
        const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
        const binary = await ws.roundTrip(bytes);
        assert.equal(binary.binary, true);
        assert.deepEqual(binary.data, bytes);
        const big = Buffer.alloc(300_000, 7);
        assert.deepEqual((await ws.roundTrip(big)).data, big);
      } finally {
        ws.close();
      }
    });

    it("the WebSocket subprotocol the client gets is the one the upstream accepted", async () => {
      let offered: string | undefined;
      const upstream = await startUpstream((_req, res) => res.end("plain"));
      const wss = new WebSocketServer({
        server: upstream.server,
        // Picks the last offer, so a router that chose on its own would be caught.
        handleProtocols: (protocols) => [...protocols].pop() ?? false,
      });
      wss.on("connection", (ws, req) => {
        offered = req.headers["sec-websocket-protocol"];
        ws.on("message", (data, binary) => ws.send(data, { binary }));
      });
      try {
        await createRoute(t, { name: "proto", public: true });
        await attachUpstream(t, "proto", upstream.port);
        await eventually(async () => (await send(t, "/proto/")).text === "plain", 5000);
        const ws = await WsProbe.open(`${wsBase}/proto/ws`, {
          protocols: ["graphql-ws", "graphql-transport-ws"],
        });
        try {
          assert.deepEqual(
            offered?.split(",").map((p) => p.trim()),
            ["graphql-ws", "graphql-transport-ws"],
            "the client's offer reaches the upstream",
          );
          assert.equal(ws.ws.protocol, "graphql-transport-ws");
          assert.equal((await ws.roundTrip("ping")).data.toString(), "ping");
        } finally {
          ws.close();
        }
      } finally {
        wss.close();
        await upstream.close();
      }
    });
  });
});

// ClearML's own Python SDK and agent (PyPI, pinned in requirements.txt) against the reference
// gateway: what a ClearML user's script and a ClearML agent do, unchanged, with the gateway in
// place of a ClearML server. Everything they call goes through the suite's recording proxy.
import assert from "node:assert/strict";
import { request } from "undici";
import { AppGatewayClient, ECHO_REQUIREMENTS, type Task } from "@appgw/sdk";
import { eventually } from "../helpers/async";
import { clearmlEnv } from "./environment";
import { scriptOutput } from "./python";

/** One entry of `Task.list_external_endpoints()`. */
interface Listed {
  endpoint: string;
  browser_endpoint: string;
  port: number;
  protocol: string;
  name: string | null;
}

/** A GET through the router at `url`, sent to loopback with the URL's host as Host. */
async function viaRouter(url: string, token: string): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  const res = await request(`http://127.0.0.1:${u.port}${u.pathname}${u.search}`, {
    headers: { host: u.host, authorization: `Bearer ${token}` },
  });
  return { status: res.statusCode, body: await res.body.text() };
}

describe("ClearML's SDK and agent against the reference gateway", function () {
  this.timeout(300_000);

  /** A token of alice's, as any ClearML client gets one (auth.login with her keys). */
  const aliceToken = () => {
    const { t, alice } = clearmlEnv();
    return new AppGatewayClient({ apiHost: t.apiUrl, ...alice }).token();
  };

  /**
   * Alice submits py/app.py to the agent's queue (optionally on a static route); resolves once
   * the app printed what `list_external_endpoints()` returned, which it does after the router
   * gave it an endpoint.
   */
  async function runApp(staticRoute = ""): Promise<{ task: string; listed: Listed[] }> {
    const { t, agentQueue, alice, clientEnv, agent } = clearmlEnv();
    const task = await scriptOutput(
      "submit.py",
      ["appgw-apps", agentQueue, ECHO_REQUIREMENTS, staticRoute],
      clientEnv(alice),
    );
    const line = await eventually(
      async () => (await t.client.tasks.getLog(task)).find((l) => l.includes("ENDPOINTS ")),
      240_000,
      `the app's endpoints in its log (agent output:\n${agent.output().slice(-3000)})`,
    ).catch(async (err: Error) => {
      const log = (await t.client.tasks.getLog(task).catch(() => [])).slice(-40).join("\n");
      throw new Error(`${err.message}\ntask log:\n${log}`);
    });
    const listed = JSON.parse(line.slice(line.indexOf("ENDPOINTS ") + 10).trim()) as Listed[];
    return { task, listed };
  }

  /** Ends the app through the router and waits for the agent to report the task completed. */
  async function quit(url: string, task: string): Promise<Task> {
    const { t } = clearmlEnv();
    const bye = await viaRouter(new URL("quit", url).href, await aliceToken());
    assert.equal(bye.status, 200, bye.body);
    return eventually(
      async () => {
        const got = await t.client.tasks.get(task);
        return got.status === "completed" && got;
      },
      60_000,
      "the task completed",
    );
  }

  it("runs a user's SDK script: a project and a task are created, enqueued and read back", async () => {
    const { t, idleQueue, alice, clientEnv } = clearmlEnv();
    const out = JSON.parse(
      await scriptOutput("sdk_flow.py", ["appgw-compat", idleQueue], clientEnv(alice)),
    ) as {
      projects_before: string[];
      id: string;
      name: string;
      status: string;
      project: string;
      project_id: string;
      parameters: { General?: Record<string, string> };
      queues: string[];
    };
    assert.deepEqual(out.projects_before, [], "the project did not exist before");
    assert.equal(out.status, "queued");
    assert.equal(out.project, "appgw-compat");
    assert.equal(out.parameters.General?.lr, "0.01");
    assert.deepEqual(out.queues, [idleQueue]);

    // The gateway holds what the SDK read back: alice's task, in her project, on the queue.
    const task = await t.client.tasks.get(out.id);
    assert.equal(task.status, "queued");
    assert.equal(task.user, alice.id);
    assert.equal(task.project, out.project_id);
    const queue = await t.client.queues.findByName(idleQueue);
    assert.equal(task.execution?.queue, queue?.id);
    assert.deepEqual(
      (queue?.entries ?? []).map((e) => e.task),
      [out.id],
    );
  });

  it("runs a task on clearml-agent; request_external_endpoint gets a URL on the router that reaches the app", async () => {
    const { t } = clearmlEnv();
    const { task, listed } = await runApp();
    assert.equal(listed.length, 1, JSON.stringify(listed));
    const [ep] = listed as [Listed];
    assert.equal(ep.protocol, "http");
    assert.equal(ep.endpoint, `${t.routerUrl}/service/${task}/`);
    assert.equal(ep.browser_endpoint, ep.endpoint);

    const reply = await viaRouter(`${ep.endpoint}hello`, await aliceToken());
    assert.equal(reply.status, 200, reply.body);
    assert.equal((JSON.parse(reply.body) as { task: string }).task, task, "the app answered");

    const running = await t.client.tasks.get(task);
    assert.equal(running.last_worker, "appgw-suite:0", "the real agent ran it");
    // The agent keeps what the task declared as `org_pip` once it records what it installed.
    const requirements = running.script?.requirements as Record<string, unknown> | undefined;
    assert.equal(requirements?.org_pip ?? requirements?.pip, ECHO_REQUIREMENTS);
    const done = await quit(ep.endpoint, task);
    assert.equal(done.runtime?.endpoint, undefined, "the router took the endpoint back");
  });

  it("attaches a task to a static path route with static_route=", async () => {
    const { t } = clearmlEnv();
    const id = await t.client.routes.save({ name: "cml-llm", type: "path", path: "/cml-llm" });
    try {
      const { task, listed } = await runApp("cml-llm");
      const [ep] = listed as [Listed];
      assert.equal(ep.endpoint, `${t.routerUrl}/cml-llm`);
      const reply = await viaRouter(`${ep.endpoint}/v1/models`, await aliceToken());
      assert.equal(reply.status, 200, reply.body);
      assert.equal((JSON.parse(reply.body) as { task: string }).task, task);
      const [route] = await t.client.routes.list({ id: [id] });
      assert.equal(route?.status, "active");
      assert.deepEqual(
        (route?.tasks ?? []).map((x) => x.id),
        [task],
      );
      await quit(`${ep.endpoint}/`, task);
    } finally {
      await t.client.routes.delete([id], true);
    }
  });

  it("attaches a task to a static subdomain route with static_route=", async () => {
    const { t } = clearmlEnv();
    const id = await t.client.routes.save({
      name: "cml-nb",
      type: "subdomain",
      subdomain: "cml-nb",
    });
    try {
      const { task, listed } = await runApp("cml-nb");
      const [ep] = listed as [Listed];
      const router = new URL(t.routerUrl);
      assert.equal(new URL(ep.endpoint).host, `cml-nb.${router.host}`);
      const reply = await viaRouter(new URL("/lab", ep.endpoint).href, await aliceToken());
      assert.equal(reply.status, 200, reply.body);
      assert.equal((JSON.parse(reply.body) as { task: string }).task, task);
      await quit(new URL("/", ep.endpoint).href, task);
    } finally {
      await t.client.routes.delete([id], true);
    }
  });
});

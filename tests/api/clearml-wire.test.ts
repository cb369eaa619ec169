// What ClearML's own Python SDK and agent put on the wire, call by call, against the control API
// (tests/clearml runs the clients themselves; these pin each behaviour they rely on).
import assert from "node:assert/strict";
import { decodeJwt } from "jose";
import { request } from "undici";
import { EXTERNAL_SERVICE_TAG } from "@appgw/sdk";
import { bearerAuth, rawCall, startTestGateway, type TestGateway } from "../helpers/gateway";

describe("control API: what ClearML's SDK and agent send", () => {
  let t: TestGateway;
  let auth: Record<string, string>;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
    auth = await bearerAuth(t.client);
  });
  after(() => t.stop());

  const call = async (action: string, body: unknown) => {
    const res = await rawCall(t.apiUrl, action, body, auth);
    assert.equal(res.status, 200, `${action}: ${JSON.stringify(res.json.meta)}`);
    return res.json.data;
  };
  /** A task that asks for endpoints with `runtime`, running as an agent leaves it. */
  const runningWith = async (runtime: Record<string, unknown>) => {
    const { id } = await call("tasks.create", {
      name: "app",
      type: "application",
      system_tags: [EXTERNAL_SERVICE_TAG],
    });
    await call("tasks.edit_runtime", { task: id, add_or_update: runtime });
    await call("tasks.started", { task: id, force: true });
    return id as string;
  };
  const services = async (task: string) => {
    const config = await t.client.routerConfig({ router: "r1" });
    return config.services.filter((s) => s.task === task);
  };

  it("ignores request fields it does not use, at any depth, and still checks the ones it does", async () => {
    const listed = await call("tasks.get_all", {
      method: "get",
      search_hidden: true,
      page_size: 5,
    });
    assert.ok(Array.isArray(listed.tasks));
    const { id } = await call("tasks.create", {
      method: "get",
      name: "with extras",
      type: "training",
      script: { entry_point: "train.py", ignored_by_us: 1 },
    });
    assert.equal((await t.client.tasks.get(id)).script?.entry_point, "train.py");
    const wrong = await rawCall(t.apiUrl, "tasks.get_all", { method: "get", page_size: 0 }, auth);
    assert.equal(wrong.status, 400);
    assert.equal(wrong.json.meta.result_subcode, 12);
    assert.equal(wrong.json.meta.error_data.field, "page_size");
  });

  it("signs the claims the clients read from the token: API level, server release, feature set", async () => {
    const claims = decodeJwt(await t.client.token());
    assert.equal(claims.api_version, "2.31");
    assert.equal(claims.server_version, "3.26.0");
    // Task.request_external_endpoint needs the Enterprise feature set.
    assert.equal(claims.feature_set, "advanced");
  });

  it("keeps runtime values of any JSON scalar type and routes a numeric _PORT", async () => {
    const task = await runningWith({ _SERVICE: "EXTERNAL", _ADDRESS: "127.0.0.1", _PORT: 8080 });
    const runtime = (await t.client.tasks.get(task)).runtime ?? {};
    assert.equal(runtime._PORT, 8080, "returned as written");
    await call("tasks.edit_runtime", {
      task,
      add_or_update: { ratio: 0.5, on: true, gone: null },
      force: true,
    });
    const after = (await t.client.tasks.get(task)).runtime ?? {};
    assert.deepEqual([after.ratio, after.on, after.gone], [0.5, true, null]);
    const [svc] = await services(task);
    assert.equal(svc?.port, 8080);
    assert.equal(svc?.protocol, "http");
    const nested = await rawCall(
      t.apiUrl,
      "tasks.edit_runtime",
      { task, add_or_update: { x: { y: 1 } }, force: true },
      auth,
    );
    assert.equal(nested.status, 400, "only scalars");
    assert.equal(nested.json.meta.error_data.field, "add_or_update.x");
  });

  it("routes a TCP endpoint from the keys the SDK writes: external_address and upstream_task_port", async () => {
    const task = await runningWith({
      _SERVICE: "EXTERNAL_TCP",
      external_address: "127.0.0.1",
      external_tcp_port: 2222,
      upstream_task_port: 22,
    });
    const [svc] = await services(task);
    assert.equal(svc?.protocol, "tcp");
    assert.equal(svc?.address, "127.0.0.1");
    assert.equal(svc?.port, 22, "the task's own port, not the external one");
  });

  it("attaches to a static route in either mode the SDK writes, path or subdomain", async () => {
    for (const [mode, name] of [
      ["path", "wire-path"],
      ["subdomain", "wire-sub"],
    ] as const) {
      await t.client.routes.save(
        mode === "path"
          ? { name, type: "path", path: `/${name}` }
          : { name, type: "subdomain", subdomain: name },
      );
      const task = await runningWith({
        _SERVICE: "EXTERNAL",
        _ADDRESS: "127.0.0.1",
        _PORT: 9000,
        _ROUTER_ENDPOINT_MODE: mode,
        _ROUTER_ENDPOINT_MODE_PARAM: name,
      });
      const [svc] = await services(task);
      assert.equal(svc?.static_route, name, mode);
    }
  });

  it("creates, lists and reads projects; a task names an existing one (400/401 otherwise)", async () => {
    const { id } = await call("projects.create", { name: "vision", description: "d" });
    const dup = await rawCall(t.apiUrl, "projects.create", { name: "vision" }, auth);
    assert.equal(dup.json.meta.result_subcode, 801);
    const found = await call("projects.get_all", {
      name: "^vision$",
      search_hidden: true,
      only_fields: ["id", "name"],
    });
    assert.deepEqual(found.projects, [{ id, name: "vision" }]);
    assert.equal((await call("projects.get_by_id", { project: id })).project.description, "d");
    const missing = await rawCall(
      t.apiUrl,
      "tasks.create",
      { name: "x", type: "training", project: "nope" },
      auth,
    );
    assert.equal(missing.json.meta.result_code, 400);
    assert.equal(missing.json.meta.result_subcode, 401);
    const { id: task } = await call("tasks.create", {
      name: "in vision",
      type: "training",
      project: id,
    });
    const inProject = await call("tasks.get_all", { project: [id], only_fields: ["id"] });
    assert.deepEqual(inProject.tasks, [{ id: task }]);
  });

  it("takes the agent's lifecycle: pull, dequeue to in_progress, started with force, ping, completed", async () => {
    const queue = await t.client.queues.ensure("wire-q");
    const { id } = await call("tasks.create", { name: "job", type: "training" });
    await call("tasks.enqueue", { task: id, queue });
    assert.equal((await call("queues.get_next_task", { queue })).entry.task, id);
    const dq = await call("tasks.dequeue", { task: id, new_status: "in_progress" });
    assert.deepEqual([dq.dequeued, dq.updated], [1, 1]);
    await call("tasks.started", {
      task: id,
      force: true,
      status_reason: "starting execution soon",
    });
    // Task.init inside the running task says started again: the same status is no change.
    await call("tasks.started", { task: id });
    await call("tasks.ping", { task: id });
    await call("workers.status_report", {
      worker: "host:cpu:0",
      timestamp: Date.now(),
      task: id,
      machine_stats: { cpu_usage: [1.5] },
      is_daemon: true,
      tags: [],
    });
    await call("tasks.completed", { task: id, force: true });
    const done = await t.client.tasks.get(id);
    assert.equal(done.status, "completed");
    assert.equal(done.last_worker, "host:cpu:0");
    // Dequeuing a task that is in no queue changes nothing, as ClearML's server answers it.
    assert.equal((await call("tasks.dequeue", { task: id })).updated, 0);
    await call("tasks.completed", { task: id, publish: true });
    assert.equal((await t.client.tasks.get(id)).status, "published");
  });

  it("refuses a status change ClearML's state machine forbids unless forced", async () => {
    const { id } = await call("tasks.create", { name: "early", type: "training" });
    const refused = await rawCall(t.apiUrl, "tasks.completed", { task: id }, auth);
    assert.equal(refused.json.meta.result_subcode, 110);
    assert.equal((await t.client.tasks.get(id)).status, "created", "nothing changed");
    await call("tasks.completed", { task: id, force: true });
    assert.equal((await t.client.tasks.get(id)).status, "completed");
  });

  it("keeps the task fields the clients write and returns them; an edit replaces only what it names", async () => {
    const { id } = await call("tasks.create", {
      name: "full",
      type: "training",
      container: { image: "python:3.11", arguments: "" },
      configuration: { cfg: { name: "cfg", type: "yaml", value: "a: 1" } },
      execution: { parameters: {}, artifacts: [] },
      script: { entry_point: "train.py", diff: "print(1)", binary: "python3" },
    });
    await call("tasks.set_requirements", { task: id, requirements: { pip: "clearml==2.1.12" } });
    await call("tasks.edit", { task: id, container: { image: "python:3.12" }, comment: "c" });
    const task = await t.client.tasks.get(id);
    assert.deepEqual(task.container, { image: "python:3.12" });
    assert.deepEqual(task.configuration, { cfg: { name: "cfg", type: "yaml", value: "a: 1" } });
    assert.deepEqual(task.script?.requirements, { pip: "clearml==2.1.12" });
    assert.equal(task.script?.entry_point, "train.py", "set_requirements keeps the script");
    assert.equal(task.comment, "c");
    assert.deepEqual(task.execution, { parameters: {}, artifacts: [], queue: null });
  });

  it("takes events.add_batch as JSON lines: log lines kept in order, metrics counted and dropped", async () => {
    const { id } = await call("tasks.create", { name: "logger", type: "training" });
    const lines = [
      { type: "log", task: id, msg: "first", level: "info", timestamp: 1, worker: "w" },
      {
        type: "training_stats_scalar",
        task: id,
        metric: "loss",
        variant: "train",
        value: 0.1,
        iter: 1,
      },
      { type: "log", task: id, msg: "second", level: "warning", timestamp: 2 },
    ];
    const res = await request(`${t.apiUrl}/events.add_batch`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json-lines" },
      body: lines.map((l) => JSON.stringify(l)).join("\n"),
    });
    const body = (await res.body.json()) as { data: { added: number } };
    assert.equal(res.statusCode, 200);
    assert.equal(body.data.added, 3);
    assert.deepEqual(await t.client.tasks.getLog(id), ["first", "second"]);
    const bad = await request(`${t.apiUrl}/events.add_batch`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json-lines" },
      body: `${JSON.stringify(lines[0])}\n{not json`,
    });
    assert.equal(bad.statusCode, 400);
    await bad.body.dump();
    assert.deepEqual(await t.client.tasks.getLog(id), ["first", "second"], "nothing half-added");
  });

  it("answers the agent's and SDK's Enterprise-only calls: no vaults, no worker properties", async () => {
    assert.deepEqual(
      (await call("users.get_vaults", { enabled: true, types: ["config"] })).vaults,
      [],
    );
    assert.deepEqual(
      (await call("workers.get_runtime_properties", { worker: "host:cpu:0" })).runtime_properties,
      [],
    );
    await call("workers.cluster_report", { worker: "host:cpu:0", key: "k", max_cpus: 2 });
    await call("workers.cluster_unregister", { key: "k" });
  });
});

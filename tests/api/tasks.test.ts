import assert from "node:assert/strict";
import {
  bearerAuth,
  rawCall,
  rejection,
  startTestGateway,
  userClient,
  type TestGateway,
} from "../helpers/gateway";

describe("control API: queues, workers, tasks and task logs", () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
  });
  after(() => t.stop());

  const newTask = (name: string) => t.client.tasks.create({ name, type: "testing" });
  /** A task taken off `queue` and started, as an agent does it. */
  const running = async (name: string, queue: string) => {
    const id = await newTask(name);
    await t.client.tasks.enqueue(id, queue);
    await t.client.tasks.report("started", id);
    return id;
  };

  describe("queues", () => {
    it("creates, lists and reads queues, refusing a duplicate name (400/801)", async () => {
      const id = await t.client.call("queues.create", {
        name: "gpu",
        display_name: "GPU",
        tags: ["fast"],
        system_tags: ["default"],
      });
      const queue = await t.client.queues.get(id.id);
      assert.equal(queue.name, "gpu");
      assert.equal(queue.display_name, "GPU");
      assert.deepEqual(queue.tags, ["fast"]);
      assert.deepEqual(queue.system_tags, ["default"]);
      assert.deepEqual(queue.entries, []);
      assert.ok(queue.created);
      assert.deepEqual(
        (await t.client.queues.list({ name: "^gp" })).map((q) => q.name),
        ["gpu"],
      );
      const dup = await rejection(() => t.client.queues.create("gpu"));
      assert.deepEqual([dup.code, dup.field], ["APPGW_ALREADY_EXISTS", "name"]);
    });

    it("answers 400/701 for a queue that does not exist", async () => {
      for (const call of [
        () => t.client.queues.get("no-such-queue"),
        () => t.client.queues.delete("no-such-queue"),
        () => t.client.queues.next("no-such-queue"),
      ]) {
        const err = await rejection(call);
        assert.deepEqual([err.code, err.subcode], ["APPGW_QUEUE_NOT_FOUND", 701]);
      }
    });

    it("hands out queued tasks oldest first, and answers an empty queue with no entry", async () => {
      const queue = await t.client.queues.create("fifo");
      const first = await newTask("first");
      const second = await newTask("second");
      await t.client.tasks.enqueue(first, queue);
      await t.client.tasks.enqueue(second, queue);
      const { entry } = await t.client.call("queues.get_next_task", { queue });
      assert.equal(entry?.task, first);
      assert.ok(entry?.added);
      assert.equal(await t.client.queues.next(queue), second);
      const empty = await rawCall(
        t.apiUrl,
        "queues.get_next_task",
        { queue },
        await bearerAuth(t.client),
      );
      assert.deepEqual(empty.json.data, {});
    });

    it("refuses to delete a queue holding tasks unless forced, then sends them back to created", async () => {
      const doomed = await t.client.queues.create("doomed");
      const task = await newTask("waiting");
      await t.client.tasks.enqueue(task, doomed);
      const err = await rejection(() => t.client.queues.delete(doomed));
      assert.deepEqual([err.code, err.subcode], ["APPGW_QUEUE_NOT_EMPTY", 702]);
      await t.client.queues.delete(doomed, true);
      const after = await t.client.tasks.get(task);
      assert.equal(after.status, "created");
      assert.equal(after.execution?.queue, null);
      assert.equal(await t.client.queues.findByName("doomed"), undefined);
    });
  });

  describe("workers", () => {
    it("registers a worker, records what it runs, and lists it in the documented shape", async () => {
      const queue = await t.client.queues.create("w-q");
      await t.client.workers.register("w1", [queue], 60);
      let [w] = (await t.client.workers.list()).filter((x) => x.id === "w1");
      assert.ok(w?.register_time && w.last_activity_time);
      assert.equal(w?.task, null);
      assert.deepEqual(w?.queues, [{ id: queue, name: "w-q" }]);

      const task = await running("worked", queue);
      await t.client.workers.statusReport("w1", task, queue);
      [w] = (await t.client.workers.list()).filter((x) => x.id === "w1");
      assert.deepEqual(w?.task, { id: task, name: "worked" });
      assert.ok(w?.last_report_time);
      assert.equal((await t.client.tasks.get(task)).last_worker, "w1");

      await t.client.workers.statusReport("w1");
      [w] = (await t.client.workers.list()).filter((x) => x.id === "w1");
      assert.equal(w?.task, null, "a report without a task clears it");

      await t.client.workers.unregister("w1");
      assert.ok(!(await t.client.workers.list()).some((x) => x.id === "w1"));
    });

    it("refuses to register a worker for a queue that does not exist", async () => {
      const err = await rejection(() => t.client.workers.register("w2", ["no-such-queue"]));
      assert.deepEqual([err.subcode, err.field], [701, "queues"]);
    });

    it("leaves out workers not seen within last_seen", async () => {
      const queue = await t.client.queues.create("seen-q");
      await t.client.workers.register("old-worker", [queue]);
      t.gw.api.store.db
        .prepare("UPDATE workers SET last_activity_time = ? WHERE id = ?")
        .run(new Date(Date.now() - 120_000).toISOString(), "old-worker");
      assert.ok(!(await t.client.workers.list(60)).some((w) => w.id === "old-worker"));
      assert.ok((await t.client.workers.list(0)).some((w) => w.id === "old-worker"));
    });
  });

  describe("tasks", () => {
    it("creates a task with ClearML's fields and no runtime, and reads it back", async () => {
      const project = (await t.client.call("projects.create", { name: "proj-1" })).id;
      const id = await t.client.tasks.create({
        name: "full",
        type: "application",
        project,
        comment: "a comment",
        tags: ["t1"],
        system_tags: ["s1"],
        script: { entry_point: "app.py", binary: "python3", diff: "print(1)", working_dir: "." },
        hyperparams: { General: { nonce: { section: "General", name: "nonce", value: "abc" } } },
      });
      const task = await t.client.tasks.get(id);
      const me = (await t.client.users.me()).user.id;
      assert.equal(task.name, "full");
      assert.equal(task.type, "application");
      assert.equal(task.status, "created");
      assert.equal(task.project, project);
      assert.equal(task.user, me);
      assert.equal(task.company, "appgw");
      assert.deepEqual(task.tags, ["t1"]);
      assert.deepEqual(task.system_tags, ["s1"]);
      assert.equal(task.script?.entry_point, "app.py");
      assert.equal(task.hyperparams?.General?.nonce?.value, "abc");
      assert.deepEqual(task.runtime, {});
      assert.deepEqual(task.execution, { queue: null });
      assert.equal(task.started, null);
      assert.ok(task.created && task.status_changed && task.last_update);
      // ClearML's tasks.create has no runtime: one sent anyway is dropped like any unknown field.
      const withRuntime = await t.client.call("tasks.create", {
        name: "x",
        type: "testing",
        runtime: { _SERVICE: "EXTERNAL", _ADDRESS: "127.0.0.1", _PORT: "80" },
      } as never);
      assert.deepEqual((await t.client.tasks.get(withRuntime.id)).runtime, {});
    });

    it("answers 400/101 for a task that does not exist", async () => {
      const err = await rejection(() => t.client.tasks.get("no-such-task"));
      assert.deepEqual([err.code, err.statusCode, err.subcode], ["APPGW_TASK_NOT_FOUND", 400, 101]);
    });

    it("lists tasks by id, name, status and system tags, with dotted only_fields", async () => {
      const queue = await t.client.queues.create("list-q");
      await t.client.tasks.create({ name: "list-a", type: "testing", system_tags: ["x", "y"] });
      const b = await t.client.tasks.create({
        name: "list-b",
        type: "testing",
        system_tags: ["x"],
      });
      await t.client.tasks.enqueue(b, queue);
      const names = async (filter: Parameters<typeof t.client.tasks.list>[0]) =>
        (await t.client.tasks.list({ name: "^list-", ...filter })).map((x) => x.name);
      assert.deepEqual(await names({}), ["list-a", "list-b"]);
      assert.deepEqual(await names({ id: [b] }), ["list-b"]);
      assert.deepEqual(await names({ status: ["queued"] }), ["list-b"]);
      assert.deepEqual(await names({ system_tags: ["x", "y"] }), ["list-a"]);
      assert.deepEqual(await names({ system_tags: ["x", "-y"] }), ["list-b"]);
      assert.deepEqual(await names({ order_by: ["-name"] }), ["list-b", "list-a"]);
      assert.deepEqual(await names({ order_by: ["name"], page: 1, page_size: 1 }), ["list-b"]);
      const [trimmed] = await t.client.tasks.list({
        id: [b],
        only_fields: ["runtime", "execution.queue"],
      });
      assert.deepEqual(trimmed, { id: b, runtime: {}, execution: { queue } });
    });

    it("edits a created task; once it left created, only with force (400/110)", async () => {
      const queue = await t.client.queues.create("edit-q");
      const id = await newTask("editable");
      await t.client.tasks.edit({ task: id, name: "edited", runtime: { a: "1", b: "2" } });
      let task = await t.client.tasks.get(id);
      assert.equal(task.name, "edited");
      assert.deepEqual(task.runtime, { a: "1", b: "2" });
      await t.client.tasks.enqueue(id, queue);
      const err = await rejection(() => t.client.tasks.edit({ task: id, runtime: { c: "3" } }));
      assert.deepEqual([err.code, err.subcode], ["APPGW_TASK_STATE", 110]);
      await t.client.tasks.edit({ task: id, runtime: { c: "3" }, force: true });
      task = await t.client.tasks.get(id);
      assert.deepEqual(task.runtime, { c: "3" }, "runtime replaces the whole map");
    });

    it("merges runtime properties with edit_runtime, with force unless the task is created", async () => {
      const queue = await t.client.queues.create("rt-q");
      const id = await newTask("props");
      await t.client.tasks.editRuntime(id, { a: "1", b: "2" }, [], false);
      await t.client.tasks.enqueue(id, queue);
      const err = await rejection(() => t.client.tasks.editRuntime(id, { c: "3" }, [], false));
      assert.equal(err.subcode, 110);
      await t.client.tasks.editRuntime(id, { c: "3" }, ["b"], true);
      assert.deepEqual((await t.client.tasks.get(id)).runtime, { a: "1", c: "3" });
    });

    it("enqueues only a created task, on a queue given by id, by name (created if missing) or the default", async () => {
      const byId = await newTask("by-id");
      const queue = await t.client.queues.create("enq-q");
      assert.deepEqual(await t.client.call("tasks.enqueue", { task: byId, queue }), {
        queued: 1,
        updated: 1,
        fields: {},
      });
      let task = await t.client.tasks.get(byId);
      assert.equal(task.status, "queued");
      assert.equal(task.execution?.queue, queue);
      assert.deepEqual(
        (await t.client.queues.get(queue)).entries?.map((e) => e.task),
        [byId],
      );
      const again = await rejection(() => t.client.tasks.enqueue(byId, queue));
      assert.deepEqual([again.code, again.subcode], ["APPGW_TASK_STATE", 110]);

      const byName = await newTask("by-name");
      await t.client.call("tasks.enqueue", { task: byName, queue_name: "made-on-demand" });
      const made = await t.client.queues.findByName("made-on-demand");
      assert.equal((await t.client.tasks.get(byName)).execution?.queue, made?.id);

      const byDefault = await newTask("by-default");
      await t.client.call("tasks.enqueue", { task: byDefault });
      const gpu = await t.client.queues.findByName("gpu");
      task = await t.client.tasks.get(byDefault);
      assert.equal(task.execution?.queue, gpu?.id, "the queue tagged 'default'");

      const both = await rejection(() =>
        t.client.call("tasks.enqueue", { task: byDefault, queue, queue_name: "x" }),
      );
      assert.equal(both.field, "queue_name");
    });

    it("moves a task through its life as the agent reports it", async () => {
      const queue = await t.client.queues.create("life-q");
      const id = await newTask("life");
      const early = await rejection(() => t.client.tasks.report("completed", id));
      assert.equal(early.code, "APPGW_TASK_STATE");
      await t.client.tasks.enqueue(id, queue);
      await t.client.tasks.report("started", id, { status_message: "go" });
      let task = await t.client.tasks.get(id);
      assert.equal(task.status, "in_progress");
      assert.equal(task.status_message, "go");
      assert.ok(task.started);
      assert.deepEqual(
        (await t.client.queues.get(queue)).entries,
        [],
        "a started task leaves its queue",
      );
      await t.client.tasks.report("completed", id, { status_reason: "done" });
      task = await t.client.tasks.get(id);
      assert.equal(task.status, "completed");
      assert.equal(task.status_reason, "done");
      assert.ok(task.completed);

      const failing = await running("failing", queue);
      await t.client.tasks.report("failed", failing, { status_reason: "crashed" });
      assert.equal((await t.client.tasks.get(failing)).status, "failed");
    });

    it("stops a queued or running task at once, and any other only with force", async () => {
      const queue = await t.client.queues.create("stop-q");
      const queued = await newTask("queued");
      await t.client.tasks.enqueue(queued, queue);
      await t.client.tasks.stop(queued, "not needed");
      let task = await t.client.tasks.get(queued);
      assert.equal(task.status, "stopped");
      assert.equal(task.status_reason, "not needed");
      assert.deepEqual((await t.client.queues.get(queue)).entries, [], "it left its queue");

      const run = await running("running", queue);
      await t.client.tasks.stop(run);
      task = await t.client.tasks.get(run);
      assert.equal(task.status, "stopped");
      assert.match(task.status_reason ?? "", /stopped by admin/);
      await t.client.tasks.report("stopped", run);
      assert.equal(
        (await t.client.tasks.get(run)).status,
        "stopped",
        "the agent's confirmation is accepted",
      );

      const created = await newTask("created");
      const err = await rejection(() => t.client.tasks.stop(created));
      assert.deepEqual([err.code, err.subcode], ["APPGW_TASK_STATE", 110]);
      await t.client.tasks.stop(created, undefined, true);
      assert.equal((await t.client.tasks.get(created)).status, "stopped");
    });

    it("lets users change only their own tasks (403/21)", async () => {
      const alice = await userClient(t, "alice-tasks");
      const admins = await newTask("admins");
      for (const call of [
        () => alice.client.tasks.stop(admins, undefined, true),
        () => alice.client.tasks.edit({ task: admins, name: "mine" }),
        () => alice.client.tasks.editRuntime(admins, { a: "1" }),
        () => alice.client.tasks.log(admins, "hello"),
      ]) {
        const err = await rejection(call);
        assert.deepEqual(
          [err.code, err.statusCode, err.subcode],
          ["APPGW_NO_WRITE_PERMISSION", 403, 21],
        );
      }
      assert.equal((await alice.client.tasks.get(admins)).name, "admins", "reading is allowed");
      const own = await alice.client.tasks.create({ name: "alices", type: "testing" });
      await alice.client.tasks.stop(own, undefined, true);
      assert.equal((await t.client.tasks.get(own)).user, alice.id);
    });
  });

  describe("task logs (events.*)", () => {
    it("stores log events and returns them oldest first, the latest batch when navigating earlier", async () => {
      const id = await newTask("logger");
      await t.client.call("events.add", {
        type: "log",
        task: id,
        msg: "one",
        level: "warning",
        timestamp: 1_700_000_000_000,
        worker: "w9",
      });
      await t.client.tasks.log(id, "two");
      await t.client.tasks.log(id, "three");
      assert.deepEqual(await t.client.tasks.getLog(id), ["one", "two", "three"]);
      const latest = await t.client.call("events.get_task_log", { task: id, batch_size: 2 });
      assert.deepEqual(
        latest.events.map((e) => e.msg),
        ["two", "three"],
      );
      assert.equal(latest.returned, 2);
      assert.equal(latest.total, 3);
      const first = await t.client.call("events.get_task_log", {
        task: id,
        batch_size: 2,
        navigate_earlier: false,
      });
      assert.deepEqual(first.events[0], {
        timestamp: 1_700_000_000_000,
        msg: "one",
        level: "warning",
        worker: "w9",
        task: id,
      });
      const missing = await rejection(() => t.client.tasks.getLog("no-such-task"));
      assert.equal(missing.subcode, 101);
    });
  });
});

describe("tasks.enqueue without a queue on a gateway with no default queue", () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
  });
  after(() => t.stop());

  it("answers 400/707 no_default_queue, even when a queue is named 'default'", async () => {
    await t.client.queues.create("default");
    const task = await t.client.tasks.create({ name: "homeless", type: "application" });
    const err = await rejection(() => t.client.call("tasks.enqueue", { task }));
    assert.deepEqual([err.code, err.statusCode, err.subcode], ["APPGW_NO_DEFAULT_QUEUE", 400, 707]);
    assert.equal((await t.client.tasks.get(task)).status, "created");
  });
});

import assert from "node:assert/strict";
import { ServiceSelector } from "../../gateway/router/services";
import type { ActionRequest, Task } from "../../sdk/contract";
import { service } from "./fixtures";

/** A fake `tasks.get_all` over fixed tasks, recording requests. */
function client(tasks: Task[]) {
  const requests: ActionRequest<"tasks.get_all">[] = [];
  const api = {
    tasks: {
      list: async (filter: ActionRequest<"tasks.get_all">) => {
        requests.push(filter);
        return tasks.filter((t) => filter.id?.includes(t.id));
      },
    },
  };
  return { api, requests };
}

const task = (id: string, runtime: Record<string, string> = {}): Task => ({ id, runtime });

describe("router service selection", () => {
  it("serves every queue's tasks when it listens to none, reading their runtime in one call", async () => {
    const { api, requests } = client([task("a"), task("b")]);
    const s = await new ServiceSelector(api, "edge", []).select([
      service({ task: "a", queue: "gpu" }),
      service({ task: "a", endpoint_name: "lab", queue: "gpu" }),
      service({ task: "b", queue: null }),
    ]);
    assert.deepEqual(
      s.services.map((x) => x.task),
      ["a", "a", "b"],
    );
    assert.equal(requests.length, 1);
    assert.deepEqual(requests[0]!.id, ["a", "b"]);
    assert.deepEqual(requests[0]!.only_fields, ["id", "runtime"]);
  });

  it("reads a task's runtime once, when it first appears, not on every configuration", async () => {
    const { api, requests } = client([task("a"), task("b")]);
    const selector = new ServiceSelector(api, "edge", []);
    await selector.select([service({ task: "a" })]);
    await selector.select([service({ task: "a" })]);
    await selector.select([service({ task: "a" }), service({ task: "b" })]);
    assert.deepEqual(
      requests.map((r) => r.id),
      [["a"], ["b"]],
    );
    // A task that left and came back is read again (its properties may have changed).
    await selector.select([service({ task: "b" })]);
    await selector.select([service({ task: "a" }), service({ task: "b" })]);
    assert.deepEqual(requests.at(-1)?.id, ["a"]);
  });

  it("serves only the tasks of the queues it listens to, matched by exact name", async () => {
    const { api } = client(["a", "b", "c", "d"].map((id) => task(id)));
    const s = await new ServiceSelector(api, "edge", ["gpu", "cpu"]).select([
      service({ task: "a", queue: "gpu" }),
      service({ task: "b", queue: "cpu" }),
      service({ task: "c", queue: "gpu2" }),
      service({ task: "d", queue: null }),
    ]);
    assert.deepEqual(
      s.services.map((x) => x.task),
      ["a", "b"],
    );
  });

  it("honours `_ROUTER`: a pinned task is served by the router it names only, whatever its queue", async () => {
    const { api } = client([
      task("mine", { _ROUTER: "edge" }),
      task("theirs", { _ROUTER: "other" }),
      task("free"),
    ]);
    const s = await new ServiceSelector(api, "edge", ["gpu"]).select([
      service({ task: "mine", queue: "cpu" }),
      service({ task: "theirs", queue: "gpu" }),
      service({ task: "free", queue: "gpu" }),
    ]);
    assert.deepEqual(
      s.services.map((x) => x.task),
      ["mine", "free"],
    );
    assert.deepEqual([...s.runtimes.keys()], ["mine", "free"], "runtimes of served tasks only");
    assert.deepEqual(s.runtimes.get("mine"), { _ROUTER: "edge" });
  });

  it("drops services of tasks that vanished, and calls nothing without services", async () => {
    const { api, requests } = client([]);
    const selector = new ServiceSelector(api, "edge", []);
    assert.deepEqual((await selector.select([service({ task: "gone" })])).services, []);
    assert.deepEqual((await selector.select([])).services, []);
    assert.equal(requests.length, 1);
  });
});

import assert from "node:assert/strict";
import pino from "pino";
import { EndpointWriter } from "../../gateway/router/endpoints";
import { appgwError } from "../../sdk/errors";

type Edit = { task: string; add: Record<string, string>; remove: string[]; force: boolean };

/** A writer over a fake `tasks.edit_runtime` that records calls and fails on demand. */
function writer(failures: unknown[] = []) {
  const edits: Edit[] = [];
  const tasks = {
    editRuntime: async (
      task: string,
      add: Record<string, string>,
      remove: string[] = [],
      force = false,
    ) => {
      edits.push({ task, add, remove, force });
      const failure = failures.shift();
      if (failure !== undefined) throw failure;
    },
  };
  return { w: new EndpointWriter({ tasks }, pino({ level: "silent" })), edits };
}

const url = (path: string) => `http://gw.example${path}`;
const props = (path: string, suffix = "") => ({
  [`endpoint${suffix}`]: url(path),
  [`browser_endpoint${suffix}`]: url(path),
});

describe("router endpoint write-back", () => {
  it("writes each task's endpoints with force, once, and only what changed", async () => {
    const { w, edits } = writer();
    w.set({ t1: props("/llm"), t2: props("/service/t2/") });
    await w.flush();
    assert.deepEqual(edits, [
      { task: "t1", add: props("/llm"), remove: [], force: true },
      { task: "t2", add: props("/service/t2/"), remove: [], force: true },
    ]);
    await w.flush();
    assert.equal(edits.length, 2, "nothing changed, nothing written");

    w.set({ t1: { ...props("/llm"), ...props("/service/t1-lab/", "__lab") }, t2: props("/chat") });
    await w.flush();
    assert.deepEqual(edits.slice(2), [
      { task: "t1", add: props("/service/t1-lab/", "__lab"), remove: [], force: true },
      { task: "t2", add: props("/chat"), remove: [], force: true },
    ]);
  });

  it("removes the endpoints of a task it no longer routes, and of an endpoint it dropped", async () => {
    const { w, edits } = writer();
    w.set({ t1: { ...props("/llm"), ...props("/x", "__lab") }, t2: props("/b") });
    await w.flush();
    w.set({ t1: props("/llm") });
    await w.flush();
    assert.deepEqual(edits.slice(2), [
      { task: "t1", add: {}, remove: ["endpoint__lab", "browser_endpoint__lab"], force: true },
      { task: "t2", add: {}, remove: ["endpoint", "browser_endpoint"], force: true },
    ]);
    await w.flush();
    assert.equal(edits.length, 4, "removed once");
  });

  it("retries a failed write on the next flush, and forgets a task that is gone", async () => {
    const { w, edits } = writer([
      appgwError("APPGW_CONNECTION"),
      appgwError("APPGW_TASK_NOT_FOUND"),
    ]);
    w.set({ t1: props("/a"), t2: props("/b") });
    await w.flush(); // t1 fails (retried), t2 is gone (not retried)
    await w.flush();
    assert.deepEqual(
      edits.map((e) => e.task),
      ["t1", "t2", "t1"],
    );
    await w.flush();
    assert.equal(edits.length, 3);
  });

  it("writes nothing for a task first seen already carrying its endpoints, and clears stale ones", async () => {
    const { w, edits } = writer();
    w.seen("t1", { ...props("/llm"), _PORT: "80", _ROUTER: "edge" });
    w.seen("t2", { ...props("/old"), ...props("/gone", "__lab"), _SERVICE: "EXTERNAL" });
    w.set({ t1: props("/llm"), t2: props("/new") });
    await w.flush();
    assert.deepEqual(edits, [
      {
        task: "t2",
        add: props("/new"),
        remove: ["endpoint__lab", "browser_endpoint__lab"],
        force: true,
      },
    ]);
  });

  it("trusts its own writes over a later read: two routers on one task do not fight", async () => {
    const { w, edits } = writer();
    w.set({ t1: props("/llm") });
    await w.flush();
    // Another router wrote its URL since; this one has nothing new to say.
    w.seen("t1", { endpoint: "http://other/llm", browser_endpoint: "http://other/llm" });
    await w.flush();
    assert.equal(edits.length, 1);
  });

  it("runs one flush at a time and picks up what was set meanwhile", async () => {
    const { w, edits } = writer();
    w.set({ t1: props("/a") });
    const first = w.flush();
    w.set({ t1: props("/b") });
    const second = w.flush();
    await Promise.all([first, second]);
    assert.deepEqual(
      edits.map((e) => e.add.endpoint),
      [url("/a"), url("/b")],
    );
  });
});

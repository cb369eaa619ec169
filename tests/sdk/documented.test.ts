// The contract marks an action documented by naming its reference page; this checks that claim
// against an independent copy of ClearML's reference (../shared/design/clearml-api.md, which
// condenses it), so a made-up endpoint cannot pass by being marked documented.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { DOCS, DOCUMENTED_ACTIONS } from "@appgw/sdk";

const REFERENCE = path.resolve(__dirname, "..", "..", "..", "shared", "design", "clearml-api.md");

/**
 * Documented actions the condensed reference leaves out: the agent side of the open-source API
 * (same server, same pages). Each is named with the page that documents it.
 */
const ALSO_DOCUMENTED: Record<string, string> = {
  "queues.get_next_task": DOCS.queues,
  "events.add": DOCS.events,
  "events.get_task_log": DOCS.events,
  "tasks.started": DOCS.tasks,
  "tasks.completed": DOCS.tasks,
  "tasks.failed": DOCS.tasks,
  "projects.get_by_id": DOCS.projects,
};

describe("actions the contract marks documented", () => {
  it("are each named in ClearML's API reference, or listed here with their page", () => {
    assert.ok(fs.existsSync(REFERENCE), `the condensed reference is missing: ${REFERENCE}`);
    const text = fs.readFileSync(REFERENCE, "utf8");
    const named = new Set(text.match(/\b[a-z]+\.[a-z_]+\b/g) ?? []);
    const unknown = [...DOCUMENTED_ACTIONS.keys()].filter(
      (a) => !named.has(a) && !(a in ALSO_DOCUMENTED),
    );
    assert.deepEqual(
      unknown,
      [],
      `marked documented but not in the reference: ${unknown.join(", ")}`,
    );
  });

  it("name the reference page of their own service", () => {
    for (const [action, page] of DOCUMENTED_ACTIONS) {
      const service = action.split(".")[0] as keyof typeof DOCS;
      assert.equal(page, DOCS[service], action);
      if (action in ALSO_DOCUMENTED) assert.equal(ALSO_DOCUMENTED[action], page, action);
    }
  });
});

// The proof that the provider speaks ClearML's published API: every action its processes called
// during this suite (recorded through APPGW_SDK_TRACE by the CLI runs of the other files, which
// run before this one: see .mocharc.json) is one ClearML documents.
import assert from "node:assert/strict";
import fs from "node:fs";
import { DOCUMENTED_ACTIONS, type ActionName } from "@appgw/sdk";
import { TRACE_FILE } from "./helpers";

describe("endpoints the provider called during the end-to-end suite", () => {
  const called = () =>
    new Set(fs.readFileSync(TRACE_FILE, "utf8").split("\n").filter(Boolean)) as Set<ActionName>;
  after(() => fs.rmSync(TRACE_FILE, { force: true }));

  it("are all documented by ClearML's API reference", () => {
    const undocumented = [...called()].filter((a) => !DOCUMENTED_ACTIONS.has(a));
    assert.deepEqual(undocumented, [], `called but not documented: ${undocumented.join(", ")}`);
  });

  it("cover every resource's lifecycle (the record is not empty or partial)", () => {
    const actions = called();
    for (const expected of [
      "auth.login",
      "routers.add_or_update_route",
      "routers.set_route_enabled",
      "routers.get_routes",
      "routers.delete_routes",
      "permissions.add_or_update_user_group",
      "permissions.get_user_groups",
      "permissions.delete_user_groups",
      "permissions.add_or_update_access_rule",
      "permissions.get_access_rules",
      "permissions.delete_access_rules",
      "routers.get_task_routers",
      "tasks.create",
      "tasks.enqueue",
      "tasks.get_by_id",
      "tasks.stop",
      "users.get_all",
    ] as const) {
      assert.ok(
        actions.has(expected),
        `the suite never called ${expected}: ${[...actions].join(", ")}`,
      );
    }
  });
});

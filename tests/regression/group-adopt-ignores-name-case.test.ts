// Regression: `adopt: true` looked for the group by its exact name, while the gateway keeps group
// names unique whatever their case (COLLATE NOCASE): adopting `ML-Team` when `ml-team` existed
// found nothing, tried to create it and failed on the taken name. Adopt now finds a group as the
// gateway compares names, and gives it the declared spelling.
import assert from "node:assert/strict";
import { groupImpl } from "../../provider/providers/group";
import type { ConnectionConfig } from "../../provider/shim";
import { startTestGateway, type TestGateway } from "../helpers/gateway";
import { checkedInputs, connectionOf } from "../helpers/provider";

describe("regression: adopting a group whose name differs in case", () => {
  let t: TestGateway;
  let conn: ConnectionConfig;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
    conn = connectionOf(t);
    await t.client.addUser({ name: "ann" });
  });
  after(() => t.stop());

  it("adopts `ml-team` declared as `ML-Team`, and renames it to the declared spelling", async () => {
    const { id: existing } = await t.client.groups.save({ name: "ml-team" });
    const inputs = await checkedInputs(groupImpl, {
      name: "ML-Team",
      members: ["ann"],
      adopt: true,
    });
    const { id, outs } = await groupImpl.create(inputs, conn);
    assert.equal(id, existing);
    const group = await t.client.groups.get(id);
    assert.equal(group?.name, "ML-Team");
    assert.deepEqual(
      group?.users?.map((u) => u.name),
      ["ann"],
    );
    assert.equal(
      outs?.name,
      "ML-Team",
      "the state matches the program: no diff at the next preview",
    );
    assert.equal((await t.client.groups.list()).filter((g) => /^ml-team$/i.test(g.name)).length, 1);
  });
});

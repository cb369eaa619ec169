// Regression: a Group's members were looked up with one regular expression of every name, and
// `users.get_all` takes a name filter of at most 256 characters: a group of about 25 members
// failed with `users.get_all: name: Too big`. Members are now looked up by exact name, each in a
// filter of its own, so a group may have any number of them.
import assert from "node:assert/strict";
import { groupImpl } from "../../provider/providers/group";
import { type GroupState } from "../../provider/group";
import type { ConnectionConfig } from "../../provider/shim";
import { startTestGateway, type TestGateway } from "../helpers/gateway";
import { checkedInputs, connectionOf } from "../helpers/provider";

describe("regression: a Group of many members", () => {
  let t: TestGateway;
  let conn: ConnectionConfig;
  const names = Array.from({ length: 60 }, (_, i) => `member.of-a-large-team-${i}`);
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
    conn = connectionOf(t);
    for (const name of names) await t.client.addUser({ name });
  });
  after(() => t.stop());

  const members = async (id: string) =>
    ((await t.client.groups.get(id))?.users ?? []).map((u) => u.name).sort();

  it("creates and updates a group of 60 members given by name", async () => {
    const inputs = await checkedInputs(groupImpl, { name: "large-team", members: names });
    const { id, outs } = await groupImpl.create(inputs, conn);
    assert.deepEqual(await members(id), [...names].sort());
    assert.equal((outs as GroupState).memberIds.length, 60);

    const fewer = await checkedInputs(groupImpl, { name: "large-team", members: names.slice(1) });
    await groupImpl.update(id, outs as GroupState, fewer, conn);
    assert.deepEqual(await members(id), names.slice(1).sort());
  });

  it("still names every member without a user, among many", async () => {
    const inputs = await checkedInputs(groupImpl, {
      name: "large-ghosts",
      members: [...names, "nobody-1", "nobody-2"],
    });
    await assert.rejects(
      groupImpl.create(inputs, conn),
      /members: no user named 'nobody-1', 'nobody-2'/,
    );
  });
});

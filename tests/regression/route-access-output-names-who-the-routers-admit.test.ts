// Regression: StaticRoute's `access` output ignored the users an access rule names, and read a
// restriction whose groups and users were all gone as `["Users"]` (every signed-in user), where
// the routers admit no one. It now says what the routers admit, as the settings page does.
import assert from "node:assert/strict";
import type { ConnectionConfig } from "../../provider/shim";
import { staticRouteImpl as impl } from "../../provider/providers/staticRoute";
import { type StaticRouteState } from "../../provider/staticRoute";
import { startTestGateway, type TestGateway } from "../helpers/gateway";
import { checkedInputs, connectionOf, nextCommand } from "../helpers/provider";

describe("regression: StaticRoute's access output names who the routers admit", () => {
  let t: TestGateway;
  let conn: ConnectionConfig;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
    conn = connectionOf(t);
  });
  after(() => t.stop());

  /** A route whose access this stack leaves to others (no accessGroups), and its refresh. */
  async function route(name: string) {
    const { id } = await impl.create(await checkedInputs(impl, { name, path: `/${name}` }), conn);
    const refresh = async () => {
      // The next command: its reads see the rules written out of band.
      nextCommand();
      return (await impl.read(id, {} as StaticRouteState, conn)).props?.access;
    };
    return { id, refresh };
  }
  const rule = (route: string, users: string[], groups: string[] = []) =>
    t.client.accessRules.save({
      name: `rule-${route}`,
      description: "",
      access_permission: "read",
      entity_type: "route",
      entity_id: route,
      users,
      groups,
    });

  it("names the users an access rule admits, after its groups", async () => {
    const { id, refresh } = await route("named-users");
    const ada = await t.client.addUser({ name: "ada" });
    const bob = await t.client.addUser({ name: "bob" });
    const group = await t.client.groups.save({ name: "named-readers" });
    await rule(id, [bob.id, ada.id], [group.id]);
    assert.deepEqual(await refresh(), ["named-readers", "ada", "bob"]);
  });

  it("is empty when a restriction's last group is gone: the routers admit no one", async () => {
    const { id, refresh } = await route("emptied");
    const group = await t.client.groups.save({ name: "gone-group" });
    await rule(id, [], [group.id]);
    assert.deepEqual(await refresh(), ["gone-group"]);
    await t.client.groups.delete([group.id]);
    assert.deepEqual(await refresh(), []);
  });

  it("is Users while nothing restricts the route", async () => {
    const { refresh } = await route("open");
    assert.deepEqual(await refresh(), ["Users"]);
  });
});

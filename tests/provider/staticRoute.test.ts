import assert from "node:assert/strict";
import { UNKNOWN } from "../../provider/common";
import { staticRouteImpl as impl, type StaticRouteState } from "../../provider/staticRoute";
import type { ConnectionConfig } from "../../provider/shim";
import { rejection, startTestGateway, type TestGateway } from "../helpers/gateway";
import { checkedInputs, connectionOf } from "../helpers/provider";

/** Runs `check` and returns the resolved inputs, failing the test on check failures. */
const checked = (news: Record<string, unknown>) => checkedInputs(impl, news);

describe("StaticRoute provider against a real gateway", () => {
  let t: TestGateway;
  let conn: ConnectionConfig;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
    conn = connectionOf(t);
  });
  after(() => t.stop());

  describe("check", () => {
    it("fills the defaults", async () => {
      assert.deepEqual(await checked({ name: "a", path: "/a" }), {
        name: "a",
        path: "/a",
        loadBalanced: false,
        authenticated: true,
        enabled: true,
      });
    });

    it("names the property at fault, and lists every problem at once", async () => {
      const { failures } = await impl.check(
        {},
        { name: "", path: "llm", authenticated: false, accessGroups: ["g"] },
      );
      const props = (failures ?? []).map((f) => f.property).sort();
      assert.deepEqual(props, ["accessGroups", "name", "path"]);
      assert.match(
        (failures ?? []).find((f) => f.property === "path")?.reason ?? "",
        /must begin with '\/'/,
      );
    });

    it("refuses both path and subdomain", async () => {
      const { failures } = await impl.check({}, { name: "a", path: "/a", subdomain: "a" });
      assert.equal(failures?.[0]?.property, "subdomain");
    });

    it("lets values unknown during preview pass", async () => {
      const { failures } = await impl.check(
        {},
        { name: UNKNOWN, path: UNKNOWN, accessGroups: [UNKNOWN] },
      );
      assert.deepEqual(failures ?? [], []);
    });

    it("refuses unknown properties by name", async () => {
      const { failures } = await impl.check({}, { name: "a", path: "/a", colour: "red" });
      assert.match(JSON.stringify(failures), /colour/);
    });
  });

  describe("diff", () => {
    const olds = {
      name: "a",
      path: "/a",
      loadBalanced: false,
      authenticated: true,
      enabled: true,
    } as StaticRouteState;

    it("reports no change when nothing changed", async () => {
      assert.deepEqual(
        await impl.diff("id", olds, await checked({ name: "a", path: "/a" }), conn),
        {
          changes: false,
          replaces: [],
          deleteBeforeReplace: false,
        },
      );
    });

    it("replaces on rename and updates in place otherwise", async () => {
      const rename = await impl.diff("id", olds, await checked({ name: "b", path: "/a" }), conn);
      assert.deepEqual(rename.replaces, ["name"]);
      const path = await impl.diff("id", olds, await checked({ name: "a", path: "/b" }), conn);
      assert.equal(path.changes, true);
      assert.deepEqual(path.replaces, []);
    });

    it("compares access groups as a set, and only when they are managed", async () => {
      const managed = { ...olds, accessGroups: ["x", "y"] };
      assert.equal(
        (
          await impl.diff(
            "id",
            managed,
            await checked({ name: "a", path: "/a", accessGroups: ["y", "x"] }),
            conn,
          )
        ).changes,
        false,
      );
      assert.equal(
        (
          await impl.diff(
            "id",
            managed,
            await checked({ name: "a", path: "/a", accessGroups: ["x"] }),
            conn,
          )
        ).changes,
        true,
      );
      assert.equal(
        (await impl.diff("id", managed, await checked({ name: "a", path: "/a" }), conn)).changes,
        false,
      );
    });
  });

  it("creates a route and records the gateway's own view of it", async () => {
    const inputs = await checked({ name: "create", path: "/create" });
    const { id, outs } = await impl.create(inputs, conn);
    const route = await t.client.routes.get(id);
    assert.equal(outs?.name, route.name);
    assert.equal(outs?.path, "/create");
    assert.equal(outs?.type, "URL");
    assert.equal(outs?.status, "Not In Use");
    assert.equal(outs?.routeUrl, "<router url>/create");
    assert.equal(outs?.created, route.created);
    assert.equal(outs?.updatedBy, "admin");
    assert.equal(outs?.accessGroups, undefined, "access is not managed unless accessGroups is set");
  });

  it("changes the path of an enabled route in place: disables, edits and enables it again", async () => {
    const { id, outs } = await impl.create(await checked({ name: "move", path: "/before" }), conn);
    const { outs: after } = await impl.update(
      id,
      outs as StaticRouteState,
      await checked({ name: "move", path: "/after" }),
      conn,
    );
    const route = await t.client.routes.get(id);
    assert.equal(route.path, "/after");
    assert.equal(route.enabled, true);
    assert.equal(after?.path, "/after");
  });

  it("restores the route as it was when the gateway refuses the edit", async () => {
    await t.client.routes.create({ name: "taken", path: "/taken" });
    const { id, outs } = await impl.create(
      await checked({ name: "victim", path: "/victim" }),
      conn,
    );
    const err = await rejection(() =>
      impl.update(
        id,
        outs as StaticRouteState,
        { ...(outs as StaticRouteState), path: "/taken" },
        conn,
      ),
    );
    assert.match(err.message, /route 'taken'/);
    assert.match(err.message, /left as it was/);
    const route = await t.client.routes.get(id);
    assert.equal(route.path, "/victim");
    assert.equal(route.enabled, true);
  });

  it("changes access groups without disabling the route", async () => {
    const { id: group } = await t.client.groups.create({ name: "sr-team" });
    const { id, outs } = await impl.create(
      await checked({ name: "access", path: "/access", accessGroups: ["admins"] }),
      conn,
    );
    const before = await t.client.routes.get(id);
    const { outs: after } = await impl.update(
      id,
      outs as StaticRouteState,
      await checked({ name: "access", path: "/access", accessGroups: [group, "admins"] }),
      conn,
    );
    const route = await t.client.routes.get(id);
    assert.deepEqual(after?.accessGroups, ["admins", group].sort());
    assert.equal(route.last_update, before.last_update, "the route itself was not touched");
  });

  it("reads drift made out of band: an edit, a disable, a deletion", async () => {
    const { id, outs } = await impl.create(await checked({ name: "drift", path: "/drift" }), conn);
    await t.client.routes.disable(id);
    await t.client.routes.update({ route: id, path: "/drifted" });
    const read = await impl.read(id, outs as StaticRouteState, conn);
    assert.equal(read.id, id);
    assert.equal(read.inputs?.path, "/drifted");
    assert.equal(read.inputs?.enabled, false);
    const diff = await impl.diff(
      id,
      read.props as StaticRouteState,
      await checked({ name: "drift", path: "/drift" }),
      conn,
    );
    assert.equal(diff.changes, true);
    await t.client.routes.delete(id);
    assert.deepEqual(await impl.read(id, outs as StaticRouteState, conn), {});
  });

  it("does not report access rules granted elsewhere when it does not manage access", async () => {
    const { id, outs } = await impl.create(
      await checked({ name: "shared", path: "/shared" }),
      conn,
    );
    await t.client.groups.grant(id, "admins");
    const read = await impl.read(id, outs as StaticRouteState, conn);
    assert.equal(read.inputs?.accessGroups, undefined);
  });

  it("refuses to take over an existing route unless adopt is set, then adopts it in place", async () => {
    const { id: existing } = await t.client.routes.create({ name: "legacy", path: "/legacy-old" });
    const err = await rejection(() =>
      impl.create(
        {
          name: "legacy",
          path: "/legacy",
          loadBalanced: false,
          authenticated: true,
          enabled: true,
        },
        conn,
      ),
    );
    assert.match(err.message, /adopt: true/);
    const { id, outs } = await impl.create(
      await checked({ name: "legacy", path: "/legacy", adopt: true }),
      conn,
    );
    assert.equal(id, existing);
    assert.equal(outs?.path, "/legacy");
    assert.equal((await t.client.routes.get(id)).enabled, true);
  });

  it("leaves nothing behind when create fails", async () => {
    const err = await rejection(() =>
      impl.create(
        checkedSync({ name: "orphan", path: "/orphan", accessGroups: ["no-such-group"] }),
        conn,
      ),
    );
    assert.match(err.message, /accessGroups/);
    assert.equal(await t.client.routes.findByName("orphan"), undefined);
  });

  it("treats a route that is already gone as deleted", async () => {
    const { id } = await impl.create(await checked({ name: "twice", path: "/twice" }), conn);
    await impl.delete(id, {} as StaticRouteState, conn);
    await impl.delete(id, {} as StaticRouteState, conn);
    assert.equal(await t.client.routes.findByName("twice"), undefined);
  });

  it("says which settings are missing when it has no connection", async () => {
    const saved = { ...process.env };
    delete process.env.CLEARML_API_HOST;
    try {
      const err = await rejection(() => impl.read("x", {} as StaticRouteState, {}));
      assert.match(err.message, /appgw:apiHost/);
      assert.match(err.message, /CLEARML_API_HOST/);
    } finally {
      process.env = saved;
    }
  });
});

function checkedSync(v: { name: string; path: string; accessGroups?: string[] }) {
  return { loadBalanced: false, authenticated: true, enabled: true, ...v };
}

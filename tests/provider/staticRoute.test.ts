import assert from "node:assert/strict";
import { UNKNOWN } from "../../provider/common";
import { staticRouteImpl as impl } from "../../provider/providers/staticRoute";
import { type StaticRouteState } from "../../provider/staticRoute";
import type { ConnectionConfig } from "../../provider/shim";
import { rejection, startTestGateway, type TestGateway } from "../helpers/gateway";
import { checkedInputs, connectionOf, nextCommand } from "../helpers/provider";

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
        allowDisruptiveEdits: true,
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
      allowDisruptiveEdits: true,
    } as StaticRouteState;

    it("reports no change when nothing changed", async () => {
      assert.deepEqual(
        await impl.diff("id", olds, await checked({ name: "a", path: "/a" }), conn),
        { changes: false, deleteBeforeReplace: true },
      );
    });

    it("updates in place on any change, a rename included: the route's identity is its id", async () => {
      for (const news of [
        { name: "b", path: "/a" },
        { name: "a", path: "/b" },
        { name: "a", subdomain: "a" },
        { name: "a", path: "/a", allowDisruptiveEdits: false },
      ]) {
        const diff = await impl.diff("id", olds, await checked(news), conn);
        assert.equal(diff.changes, true, JSON.stringify(news));
        assert.equal(diff.replaces, undefined);
      }
    });

    it("reads state written before allowDisruptiveEdits existed as the default, not as a change", async () => {
      const old: Partial<StaticRouteState> = { ...olds };
      delete old.allowDisruptiveEdits;
      const diff = await impl.diff(
        "id",
        old as StaticRouteState,
        await checked({ name: "a", path: "/a" }),
        conn,
      );
      assert.equal(diff.changes, false);
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

  const route = async (id: string) => {
    const found = await t.client.routes.get(id);
    assert.ok(found, `route ${id} exists`);
    return found;
  };

  it("creates a route and records the gateway's own view of it", async () => {
    const inputs = await checked({ name: "create", path: "/create" });
    const { id, outs } = await impl.create(inputs, conn);
    const r = await route(id);
    assert.equal(r.type, "path");
    assert.equal(r.load_balancer?.enabled, false, "the program's default is sent explicitly");
    assert.equal(outs?.name, r.name);
    assert.equal(outs?.path, "/create");
    assert.equal(outs?.type, "URL");
    assert.equal(outs?.status, "Not In Use");
    assert.deepEqual(outs?.urls, [], "no router serves it: no URL, and no placeholder either");
    assert.deepEqual(
      outs?.access,
      ["Users"],
      "authenticated, no group named: every signed-in user",
    );
    assert.equal(outs?.created, r.created);
    assert.equal(outs?.updatedBy, "admin", "updated_by is a user id, shown by name");
    assert.equal(outs?.accessGroups, undefined, "access is not managed unless accessGroups is set");
  });

  it("shows access as group names, or Public for a public route", async () => {
    const { id: group } = await t.client.groups.save({ name: "sr-readers" });
    nextCommand();
    const { outs } = await impl.create(
      await checked({ name: "named", path: "/named", accessGroups: [group, "admins"] }),
      conn,
    );
    assert.deepEqual(outs?.access, ["Admins", "sr-readers"]);
    const { outs: pub } = await impl.create(
      await checked({ name: "public", path: "/public", authenticated: false }),
      conn,
    );
    assert.deepEqual(pub?.access, ["Public"]);
  });

  it("changes the path of an enabled route in place: disables, edits and enables it again", async () => {
    const { id, outs } = await impl.create(await checked({ name: "move", path: "/before" }), conn);
    const { outs: after } = await impl.update(
      id,
      outs as StaticRouteState,
      await checked({ name: "move", path: "/after" }),
      conn,
    );
    const r = await route(id);
    assert.equal(r.path, "/after");
    assert.equal(r.enabled, true);
    assert.equal(after?.path, "/after");
  });

  it("renames a route in place, keeping its id", async () => {
    const { id, outs } = await impl.create(
      await checked({ name: "old-name", path: "/rename" }),
      conn,
    );
    await impl.update(
      id,
      outs as StaticRouteState,
      await checked({ name: "new-name", path: "/rename" }),
      conn,
    );
    assert.equal((await route(id)).name, "new-name");
  });

  it("restores the route as it was when the gateway refuses the edit", async () => {
    await t.client.routes.save({ name: "taken", type: "path", path: "/taken" });
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
    const r = await route(id);
    assert.equal(r.path, "/victim");
    assert.equal(r.enabled, true);
  });

  it("changes access groups of an enabled route, leaving it enabled", async () => {
    const { id: group } = await t.client.groups.save({ name: "sr-team" });
    const { id, outs } = await impl.create(
      await checked({ name: "access", path: "/access", accessGroups: ["admins"] }),
      conn,
    );
    const { outs: after } = await impl.update(
      id,
      outs as StaticRouteState,
      await checked({ name: "access", path: "/access", accessGroups: [group, "admins"] }),
      conn,
    );
    const r = await route(id);
    assert.deepEqual(after?.accessGroups, ["admins", group].sort());
    assert.deepEqual([...(r.user_groups ?? [])].sort(), ["admins", group].sort());
    assert.equal(r.enabled, true);
  });

  it("edits a disabled route without enabling it", async () => {
    const { id, outs } = await impl.create(
      await checked({ name: "off", path: "/off", enabled: false }),
      conn,
    );
    await impl.update(
      id,
      outs as StaticRouteState,
      await checked({ name: "off", path: "/off2", enabled: false }),
      conn,
    );
    const r = await route(id);
    assert.equal(r.path, "/off2");
    assert.equal(r.enabled, false);
  });

  it("reads drift made out of band: an edit, a disable, a deletion", async () => {
    const { id, outs } = await impl.create(await checked({ name: "drift", path: "/drift" }), conn);
    await t.client.routes.setEnabled(id, false);
    await t.client.routes.save({ id, name: "drift", type: "path", path: "/drifted" });
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
    await t.client.routes.delete([id]);
    assert.deepEqual(await impl.read(id, outs as StaticRouteState, conn), {});
  });

  it("does not report groups set elsewhere when it does not manage access", async () => {
    const { id, outs } = await impl.create(
      await checked({ name: "shared", path: "/shared" }),
      conn,
    );
    await t.client.routes.setEnabled(id, false);
    await t.client.routes.save({
      id,
      name: "shared",
      type: "path",
      path: "/shared",
      user_groups: ["admins"],
    });
    const read = await impl.read(id, outs as StaticRouteState, conn);
    assert.equal(read.inputs?.accessGroups, undefined);
    assert.deepEqual(read.props?.access, ["Admins"], "the access output still tells the truth");
  });

  it("refuses to take over an existing route unless adopt is set, then adopts it in place", async () => {
    const existing = await t.client.routes.save({
      name: "legacy",
      type: "path",
      path: "/legacy-old",
    });
    const err = await rejection(async () =>
      impl.create(await checked({ name: "legacy", path: "/legacy" }), conn),
    );
    assert.match(err.message, /adopt: true/);
    const { id, outs } = await impl.create(
      await checked({ name: "legacy", path: "/legacy", adopt: true }),
      conn,
    );
    assert.equal(id, existing);
    assert.equal(outs?.path, "/legacy");
    assert.equal((await route(id)).enabled, true);
  });

  it("leaves nothing behind when create fails, naming the input at fault", async () => {
    const err = await rejection(async () =>
      impl.create(
        await checked({ name: "orphan", path: "/orphan", accessGroups: ["no-such-group"] }),
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

// A `pulumi up` killed between the gateway's answer and Pulumi's state (kill -9, a CI timeout)
// leaves routes the state does not know. The next `up` creates them again: it must take what the
// killed run made, and only that, instead of failing on the taken name for ever.
import assert from "node:assert/strict";
import type { ConnectionConfig } from "../../provider/shim";
import { staticRouteImpl } from "../../provider/providers/staticRoute";
import { startTestGateway, type TestGateway } from "../helpers/gateway";

describe("a create after an interrupted run", () => {
  let t: TestGateway;
  let conn: ConnectionConfig;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
    conn = { apiHost: t.apiUrl, ...t.admin };
  });
  after(() => t.stop());

  // As a program makes it: every route names its stack and resource (the `__managedBy` input).
  const route = (name: string) => ({
    name,
    path: `/${name}`,
    loadBalanced: true,
    authenticated: true,
    enabled: true,
    allowDisruptiveEdits: true,
    __managedBy: new URLSearchParams({ tool: "pulumi", stack: "p/s", resource: name }).toString(),
  });
  const named = async (name: string) =>
    (await t.client.routes.list({ name: `^${name}$` })).map((r) => r.id);

  it("takes the identical route its own identity made, leaving one route", async () => {
    // The killed run: the gateway stored the route, the state never heard of it.
    const { id: first } = await staticRouteImpl.create(route("killed-1"), conn);
    const { id, outs } = await staticRouteImpl.create(route("killed-1"), conn);
    assert.equal(id, first);
    assert.deepEqual(await named("killed-1"), [first]);
    assert.equal(outs?.path, "/killed-1");
  });

  it("refuses an identical route another identity made, with the adopt advice", async () => {
    const other = await t.client.addUser({ name: "other-admin", role: "admin" });
    const otherConn = {
      apiHost: t.apiUrl,
      accessKey: other.credentials.access_key,
      secretKey: other.credentials.secret_key,
    };
    const { id: theirs } = await staticRouteImpl.create(route("theirs"), otherConn);
    await assert.rejects(staticRouteImpl.create(route("theirs"), conn), /adopt: true/);
    assert.deepEqual(await named("theirs"), [theirs]);
  });

  it("refuses a route of the same name that differs from the program's", async () => {
    await staticRouteImpl.create(route("changed"), conn);
    await assert.rejects(
      staticRouteImpl.create({ ...route("changed"), loadBalanced: false }, conn),
      /already exists.*adopt: true/,
    );
  });
});

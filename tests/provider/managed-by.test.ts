// The stack and resource that manage a StaticRoute: the program passes them as `__managedBy`,
// the provider sends them as the `X-Appgw-Managed-By` header of its route writes, and a change
// of them alone is never a change (docs/clearml-compatibility.md, "Routes managed by Pulumi").
import assert from "node:assert/strict";
import type * as pulumi from "@pulumi/pulumi";
import { runtimeProvider } from "../../provider/runtime";
import type { ConnectionConfig } from "../../provider/shim";
import { staticRouteImpl as impl } from "../../provider/providers/staticRoute";
import { StaticRoute, type StaticRouteState } from "../../provider/staticRoute";
import { startTestGateway, type TestGateway } from "../helpers/gateway";
import { find, recordResources, valueOf } from "../helpers/mocks";
import { checkedInputs, connectionOf } from "../helpers/provider";

const checked = (news: Record<string, unknown>) => checkedInputs(impl, news);
const marker = (stack: string, resource: string) =>
  new URLSearchParams({ tool: "pulumi", stack, resource }).toString();

describe("StaticRoute: the stack that manages the route", () => {
  describe("in the program", () => {
    it("marks each route with its project, stack and resource name", async () => {
      const recorded = recordResources("shop", "prod", {});
      const route = new StaticRoute("models route", { name: "mb-models", path: "/mb-models" });
      await valueOf(route.urn);
      const { inputs } = find(recorded, "pulumi-nodejs:dynamic/appgw:StaticRoute", "models route");
      assert.equal(inputs.__managedBy, "tool=pulumi&stack=shop%2Fprod&resource=models+route");
    });
  });

  describe("against a real gateway", () => {
    let t: TestGateway;
    let conn: ConnectionConfig;
    before(async () => {
      t = await startTestGateway({ router: false, agent: false });
      conn = connectionOf(t);
    });
    after(() => t.stop());

    const managedBy = async (id: string) => (await t.client.routes.get(id))?.managed_by;

    it("create sends it: the gateway names the stack and resource, and the state keeps it", async () => {
      const mark = marker("shop/prod", "llm");
      const inputs = await checked({ name: "mb-create", path: "/mb-create", __managedBy: mark });
      const { id, outs } = await impl.create(inputs, conn);
      assert.deepEqual(await managedBy(id), {
        tool: "pulumi",
        stack: "shop/prod",
        resource: "llm",
      });
      assert.equal(outs?.__managedBy, mark);
      const read = await impl.read(id, outs as StaticRouteState, conn);
      assert.equal(read.props?.__managedBy, mark, "refresh keeps it in the outputs");
      assert.equal(read.inputs?.__managedBy, mark, "and in the inputs");
      assert.deepEqual((await t.client.routes.get(id))?.path, "/mb-create", "body unchanged");
    });

    it("update sends it too: a route made before markers gets one at its next edit", async () => {
      const before = await checked({ name: "mb-update", path: "/mb-update" });
      const { id, outs } = await impl.create(before, conn);
      assert.equal(await managedBy(id), null);
      assert.equal(outs?.__managedBy, undefined, "no marker given, none recorded");
      const mark = marker("shop/prod", "updated");
      const news = await checked({ name: "mb-update", path: "/mb-updated", __managedBy: mark });
      const { outs: after } = await impl.update(id, outs as StaticRouteState, news, conn);
      assert.deepEqual(await managedBy(id), {
        tool: "pulumi",
        stack: "shop/prod",
        resource: "updated",
      });
      assert.equal(after?.__managedBy, mark);
    });

    it("a change of the marker alone is no change, through the provider process too", async () => {
      const news = await checked({
        name: "mb-diff",
        path: "/mb-diff",
        __managedBy: marker("shop/prod", "renamed"),
      });
      const olds = {
        name: "mb-diff",
        path: "/mb-diff",
        loadBalanced: false,
        authenticated: true,
        enabled: true,
        allowDisruptiveEdits: true,
      } as StaticRouteState;
      // A state written before markers (an upgrade), and one another stack or name wrote.
      for (const old of [olds, { ...olds, __managedBy: marker("shop/dev", "llm") }]) {
        assert.deepEqual(await impl.diff("id", old, news, conn), {
          changes: false,
          deleteBeforeReplace: true,
        });
      }

      const p = runtimeProvider(impl);
      const config: Record<string, string> = {
        "appgw:apiHost": t.apiUrl,
        "appgw:accessKey": t.admin.accessKey,
        "appgw:secretKey": t.admin.secretKey,
      };
      await p.configure({
        config: { get: (key: string) => config[key] },
      } as pulumi.dynamic.ConfigureRequest);
      const { inputs } = await p.check(
        {},
        { name: "mb-diff", path: "/mb-diff", apiHost: t.apiUrl, __managedBy: marker("a/b", "c") },
      );
      const diff = await p.diff("id", { ...olds, apiHost: t.apiUrl }, inputs);
      assert.equal(diff.changes, false);
      assert.equal(diff.replaces, undefined);
    });

    it("check keeps a marker a header can carry, and drops any other without failing", async () => {
      const mark = marker("shop/prod", "llm");
      assert.equal((await checked({ name: "a", path: "/a", __managedBy: mark })).__managedBy, mark);
      for (const bad of ["line\nbreak", "with space", "", 42, "x".repeat(8193)]) {
        const inputs = await checked({ name: "a", path: "/a", __managedBy: bad });
        assert.ok(!("__managedBy" in inputs), JSON.stringify(bad).slice(0, 40));
      }
    });

    it("adopting a route that already matches writes nothing, so it keeps the marker it had", async () => {
      const id = await t.client.routes.save({
        name: "mb-adopt",
        type: "path",
        path: "/mb-adopt",
        load_balancer: { enabled: false },
      });
      const inputs = await checked({
        name: "mb-adopt",
        path: "/mb-adopt",
        adopt: true,
        __managedBy: marker("shop/prod", "adopted"),
      });
      const { id: adopted, outs } = await impl.create(inputs, conn);
      assert.equal(adopted, id);
      assert.equal(await managedBy(id), null, "no edit was needed, so no write was sent");
      assert.equal(outs?.__managedBy, inputs.__managedBy, "the next edit will send it");
    });
  });
});

// Regression: a create that recovers from a lost answer or an interrupted run took any identical
// route its identity last wrote. Two stacks sharing one CI account that both declare route `llm`
// at `/llm` ended up owning one route, and destroying either deleted it for both. Recovery now
// takes only a route whose managed-by marker names this stack and this resource.
import assert from "node:assert/strict";
import type { ConnectionConfig } from "../../provider/shim";
import { staticRouteImpl as impl } from "../../provider/providers/staticRoute";
import { lossyProxy } from "../helpers/api-proxy";
import { startTestGateway, type TestGateway } from "../helpers/gateway";
import { checkedInputs, connectionOf } from "../helpers/provider";

describe("regression: a create's recovery takes only its own stack's route", () => {
  let t: TestGateway;
  let ci: ConnectionConfig;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
    // One CI account for every stack.
    ci = connectionOf(t);
  });
  after(() => t.stop());

  const marker = (stack: string, resource: string) =>
    new URLSearchParams({ tool: "pulumi", stack, resource }).toString();
  const inputs = (name: string, stack: string, resource = "llm") =>
    checkedInputs(impl, { name, path: `/${name}`, __managedBy: marker(stack, resource) });
  const routesNamed = async (name: string) =>
    (await t.client.routes.list({ name: `^${name}$` })).map((r) => r.id);

  it("refuses another stack's identical route its account wrote, and leaves it that stack's", async () => {
    const { id: prod } = await impl.create(await inputs("llm", "shop/prod"), ci);
    const err = await impl.create(await inputs("llm", "shop/staging"), ci).then(
      () => assert.fail("staging took prod's route"),
      (e: Error) => e,
    );
    assert.match(err.message, /stack 'shop\/prod'/);
    assert.match(err.message, /adopt: true/);
    assert.deepEqual(await routesNamed("llm"), [prod]);
    assert.equal((await t.client.routes.get(prod))?.managed_by?.stack, "shop/prod");
  });

  it("refuses it after a lost answer too", async () => {
    const { id: prod } = await impl.create(await inputs("lost-llm", "shop/prod"), ci);
    const proxy = await lossyProxy(t.apiUrl, "routers.add_or_update_route");
    try {
      await assert.rejects(
        impl.create(await inputs("lost-llm", "shop/staging"), { ...ci, apiHost: proxy.url }),
        /stack 'shop\/prod'.*adopt: true/s,
      );
    } finally {
      proxy.close();
    }
    assert.deepEqual(await routesNamed("lost-llm"), [prod]);
  });

  it("refuses the same stack's route of another resource", async () => {
    await impl.create(await inputs("other-resource", "shop/prod", "llm"), ci);
    await assert.rejects(
      impl.create(await inputs("other-resource", "shop/prod", "llm-2"), ci),
      /resource 'llm'.*adopt: true/s,
    );
  });

  it("refuses an identical route no stack marked (made elsewhere, or on a server that keeps no marker)", async () => {
    const id = await t.client.routes.save({
      name: "unmarked",
      type: "path",
      path: "/unmarked",
      load_balancer: { enabled: false },
    });
    await assert.rejects(
      impl.create(await inputs("unmarked", "shop/prod"), ci),
      /names no stack.*adopt: true/s,
    );
    assert.deepEqual(await routesNamed("unmarked"), [id]);
  });

  it("still takes what this very resource made before it was interrupted", async () => {
    const { id: first } = await impl.create(await inputs("resumed", "shop/prod"), ci);
    const { id } = await impl.create(await inputs("resumed", "shop/prod"), ci);
    assert.equal(id, first);
    assert.deepEqual(await routesNamed("resumed"), [first]);
  });
});

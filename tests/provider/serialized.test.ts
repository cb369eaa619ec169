// Pulumi serializes each dynamic provider into state and runs that copy in another process.
// These tests serialize the real provider objects the same way, load them back from text and
// run them, so a capture error fails here and not in a user's `pulumi up`.
import assert from "node:assert/strict";
import {
  groupAccessProvider,
  groupProvider,
  routerRegistrationProvider,
  routerTestProvider,
  serviceAccountProvider,
  staticRouteProvider,
} from "@appgw/pulumi";
import { startTestGateway, type TestGateway } from "../helpers/gateway";
import { configureFor, roundTrip } from "../helpers/serialize";

describe("serialized providers", () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
  });
  after(() => t.stop());

  const providers = {
    staticRouteProvider,
    groupProvider,
    groupAccessProvider,
    routerTestProvider,
    routerRegistrationProvider,
    serviceAccountProvider,
  };
  for (const [name, provider] of Object.entries(providers)) {
    it(`${name} serializes to a small closure that captures no credentials`, async () => {
      process.env.CLEARML_API_SECRET_KEY = "never-in-state-secret";
      try {
        const { text } = await roundTrip(provider);
        assert.ok(!text.includes("never-in-state-secret"));
        assert.ok(text.length < 20_000, `serialized provider is ${text.length} bytes`);
      } finally {
        delete process.env.CLEARML_API_SECRET_KEY;
      }
    });
  }

  it("runs create, read, update and delete from its serialized form, configured from stack config", async () => {
    const { loaded } = await roundTrip(staticRouteProvider);
    await configureFor(loaded, t);
    const checked = await loaded.check?.({}, { name: "serialized", path: "/serialized" });
    const created = await loaded.create(checked?.inputs);
    assert.equal((await t.client.routes.get(created.id))?.path, "/serialized");
    const read = await loaded.read?.(created.id, created.outs);
    assert.equal(read?.props?.path, "/serialized");
    await loaded.update?.(created.id, created.outs, { ...checked?.inputs, path: "/serialized-2" });
    assert.equal((await t.client.routes.get(created.id))?.path, "/serialized-2");
    await loaded.delete?.(created.id, created.outs);
    assert.equal(await t.client.routes.findByName("serialized"), undefined);
  });
});

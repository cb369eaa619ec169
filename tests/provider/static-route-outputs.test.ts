// The outputs a StaticRoute gives its program: a setting the program gave is registered and read
// back from the state; one it left unset is not registered (each registered key costs Pulumi four
// promises with a stack trace per resource) and is read from the copy the state keeps under
// `observed`. Under Pulumi's mocks, whose state is what the test says the provider returned.
import assert from "node:assert/strict";
import { StaticRoute } from "../../provider/staticRoute";
import { find, recordResources, valueOf } from "../helpers/mocks";

const TYPE = "pulumi-nodejs:dynamic/appgw:StaticRoute";

describe("StaticRoute outputs in the program", () => {
  it("reads the settings the program left unset from the state's copy under observed", async () => {
    const recorded = recordResources("shop", "prod", {}, () => ({
      observed: {
        status: "Routing",
        path: "/so-copy",
        enabled: false,
        loadBalanced: true,
        authenticated: false,
        allowDisruptiveEdits: true,
      },
    }));
    const route = new StaticRoute("unset", { name: "so-unset", path: "/so-unset" });
    await valueOf(route.urn);
    const { inputs } = find(recorded, TYPE, "unset");
    for (const key of ["enabled", "loadBalanced", "authenticated", "subdomain", "accessGroups"])
      assert.ok(!(key in inputs), `${key} is not registered`);
    assert.equal(await valueOf(route.enabled), false);
    assert.equal(await valueOf(route.loadBalanced), true);
    assert.equal(await valueOf(route.authenticated), false);
    assert.equal(await valueOf(route.subdomain), undefined);
    assert.equal(await valueOf(route.status), "Routing");
    // A given setting is the registered one, not the copy.
    assert.equal(await valueOf(route.path), "/so-unset");
  });

  it("registers the settings the program gave, and reads them back from the state", async () => {
    const recorded = recordResources("shop", "prod", {}, () => ({ observed: { enabled: true } }));
    const route = new StaticRoute("given", {
      name: "so-given",
      subdomain: "so-given",
      enabled: false,
      accessGroups: ["g1"],
    });
    await valueOf(route.urn);
    const { inputs } = find(recorded, TYPE, "given");
    assert.equal(inputs.enabled, false);
    assert.deepEqual(inputs.accessGroups, ["g1"]);
    assert.equal(await valueOf(route.enabled), false);
    assert.deepEqual(await valueOf(route.accessGroups), ["g1"]);
    assert.equal(await valueOf(route.subdomain), "so-given");
  });

  it("reads undefined for an unset setting of a state written before the copies", async () => {
    recordResources("shop", "prod", {}, () => ({ observed: { status: "Pending" }, enabled: true }));
    const route = new StaticRoute("old", { name: "so-old", path: "/so-old" });
    assert.equal(await valueOf(route.enabled), undefined);
    assert.equal(await valueOf(route.status), "Pending");
  });
});

// Regression: resource classes declared their outputs as `public readonly x!: Output<T>`. With
// target ES2022 (useDefineForClassFields), TypeScript redefines such fields as undefined after
// `super()` returns, wiping the outputs Pulumi had just set. They are `declare`d now. And
// Pulumi makes outputs only for keys present in the registered props, so an optional input left
// out (a Group without `members`) had no output either: every output key is registered now.
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { recordResources, valueOf } from "../helpers/mocks";

describe("regression: outputs declared on resource classes survive construction", () => {
  it("keeps every output of every dynamic resource", async () => {
    recordResources("appgw", "test", {}, () => ({
      observed: { status: "Routing" },
      status: "Routing",
      members: ["a"],
      routes: ["r"],
      runTimeSec: 1,
    }));
    const appgw = require("@appgw/pulumi") as typeof import("../../provider");
    const route = new appgw.StaticRoute("r", { name: "r", path: "/r" });
    const group = new appgw.Group("g", { name: "g" });
    const access = new appgw.GroupAccess("a", { group: "g", routes: ["r"] });
    const test = new appgw.RouterTest("t", { router: "x", queue: "q" });
    for (const output of [
      route.status,
      route.urls,
      group.members,
      access.routes,
      test.runTimeSec,
      test.status,
    ]) {
      assert.ok(pulumi.Output.isInstance(output), "the output is defined");
    }
    assert.equal(await valueOf(route.status), "Routing");
    assert.deepEqual(await valueOf(group.members), ["a"]);
    assert.equal(await valueOf(test.runTimeSec), 1);
  });
});

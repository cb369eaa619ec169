// Regression (issue 8): two resources of one program declaring the same route name fought for
// ever, each update undoing the other, and the error advised `adopt: true`, which made it worse.
// The program now fails at preview, naming both resources.
import assert from "node:assert/strict";
import { recordResources } from "../helpers/mocks";

describe("regression: one gateway name declared by two resources of a program", () => {
  const appgw = () => require("@appgw/pulumi") as typeof import("../../provider");
  before(() => recordResources("appgw", "dup", {}));

  it("fails the second StaticRoute with the name, naming both resources", () => {
    const { StaticRoute } = appgw();
    new StaticRoute("first", { name: "shared-route", path: "/a" });
    assert.throws(
      () => new StaticRoute("second", { name: "shared-route", path: "/b" }),
      /StaticRoute resources 'first' and 'second' both declare the name 'shared-route'/,
    );
  });

  it("fails the second Group with the name, and lets a route and a group share one", () => {
    const { Group, StaticRoute } = appgw();
    new Group("team-a", { name: "team" });
    new StaticRoute("team-route", { name: "team", path: "/team" });
    assert.throws(() => new Group("team-b", { name: "team" }), /'team-a' and 'team-b'/);
  });
});

// A user named by both an access rule of the route and the `*` rule was listed twice in the
// route's Access (the settings page's column): routeAccess merged groups as a set, users not.
import assert from "node:assert/strict";
import { routeAccess, type AccessRule, type Route } from "@appgw/sdk";

describe("routeAccess of a user named by two rules", () => {
  const route = { id: "r1", name: "llm", auth_enabled: true, user_groups: ["g1"] } as Route;
  const rule = (id: string, entity: string, users: string[], groups: string[]): AccessRule => ({
    id,
    entity_type: "route",
    entity_id: entity,
    users: users.map((u) => ({ id: u, name: u.toUpperCase() })),
    groups: groups.map((g) => ({ id: g, name: g })),
  });

  it("lists the user once, and each group once", () => {
    const access = routeAccess(route, [
      rule("a", "r1", ["u1", "u2"], ["g1"]),
      rule("b", "*", ["u1"], ["g2"]),
      rule("c", "other-route", ["u3"], ["g3"]),
    ]);
    assert.deepEqual(
      access.users.map((u) => u.id),
      ["u1", "u2"],
    );
    assert.deepEqual(access.groups, ["g1", "g2"]);
    assert.equal(access.restricted, true);
  });
});

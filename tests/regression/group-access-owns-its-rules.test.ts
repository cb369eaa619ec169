// Regression: two GroupAccess resources granting one group the same route shared one access
// rule. The rule was named for the group and the route and found again by that name, so the
// second resource took the first's: destroying either revoked the other's access, and so did
// moving a grant from one resource to another in one `pulumi up`. Each GroupAccess now owns its
// rules, which record the stack and resource that wrote them in a field ClearML keeps (the
// description); only a rule recording this stack and resource is taken after a lost answer or an
// interrupted run, and updates read the rules afresh rather than from this command's listing.
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { formatManagedBy } from "@appgw/sdk";
import { groupAccessImpl as impl } from "../../provider/providers/groupAccess";
import { type GroupAccessState } from "../../provider/groupAccess";
import type { ConnectionConfig } from "../../provider/shim";
import { lossyProxy } from "../helpers/api-proxy";
import { startTestGateway, type TestGateway } from "../helpers/gateway";
import { recordResources, valueOf } from "../helpers/mocks";
import { connectionOf, nextCommand } from "../helpers/provider";

describe("regression: GroupAccess resources granting one group the same route", () => {
  describe("against a real gateway", () => {
    let t: TestGateway;
    let conn: ConnectionConfig;
    let group: string;
    before(async () => {
      t = await startTestGateway({ router: false, agent: false });
      conn = connectionOf(t);
      ({ id: group } = await t.client.groups.save({ name: "shared-team" }));
    });
    after(() => t.stop());

    const route = (name: string) => t.client.routes.save({ name, type: "path", path: `/${name}` });
    /** The inputs the program gives resource `resource` of stack `stack`. */
    const grant = (resource: string, routes: string[], stack = "shop/prod") => ({
      group,
      routes: [...routes].sort(),
      __managedBy: formatManagedBy({ stack, resource }),
    });
    /** The rules granting the group `routeId`, as the gateway holds them now. */
    const rulesFor = async (routeId: string) =>
      (await t.client.accessRules.list()).filter(
        (r) =>
          r.entity_type === "route" &&
          r.entity_id === routeId &&
          (r.groups ?? []).some((g) => g.id === group),
      );
    const granted = async (routeId: string) => (await rulesFor(routeId)).length > 0;
    const state = (outs: unknown) => outs as GroupAccessState;

    it("gives each its own rule: destroying one leaves the other's access", async () => {
      const r = await route("shared-destroy");
      const a = await impl.create(grant("a", [r]), conn);
      const b = await impl.create(grant("b", [r]), conn);
      assert.notEqual(state(a.outs).rules?.[r], state(b.outs).rules?.[r], "two rules");
      await impl.delete(a.id, state(a.outs), conn);
      assert.ok(await granted(r), "b still grants the route");
      nextCommand();
      assert.deepEqual((await impl.read(b.id, state(b.outs), conn)).inputs?.routes, [r]);
      await impl.delete(b.id, state(b.outs), conn);
      assert.equal(await granted(r), false, "nothing left once both are gone");
    });

    for (const first of ["the taker", "the giver"]) {
      it(`keeps the access when one up moves a grant between two resources (${first} first)`, async () => {
        const suffix = first === "the taker" ? "t" : "g";
        const moved = await route(`moved-${suffix}`);
        const kept = await route(`kept-${suffix}`);
        const other = await route(`other-${suffix}`);
        const giver = `giver-${suffix}`;
        const taker = `taker-${suffix}`;
        const g = await impl.create(grant(giver, [moved, kept]), conn);
        const tk = await impl.create(grant(taker, [other]), conn);
        // One `up`, one provider process: the giver drops the route, the taker adds it.
        const give = () => impl.update(g.id, state(g.outs), grant(giver, [kept]), conn);
        const take = () => impl.update(tk.id, state(tk.outs), grant(taker, [moved, other]), conn);
        const [x, y] = first === "the taker" ? [take, give] : [give, take];
        await x();
        await y();
        assert.ok(await granted(moved), "the moved route is still granted");
        assert.ok(await granted(kept));
        assert.equal((await rulesFor(moved)).length, 1, "by the taker's rule alone");
      });
    }

    it("records on each rule the stack and resource that own it", async () => {
      const r = await route("recorded");
      await impl.create(grant("recorder", [r]), conn);
      const [rule] = await rulesFor(r);
      assert.match(rule?.description ?? "", /tool=pulumi&stack=shop%2Fprod&resource=recorder/);
    });

    it("after an interrupted run, takes the rule this stack and resource wrote, and no other", async () => {
      const r = await route("interrupted");
      const sameName = await impl.create(grant("mine", [r], "shop/dev"), conn);
      const otherName = await impl.create(grant("theirs", [r]), conn);
      // The killed run: the gateway made the rule, the state never heard of it.
      const killed = await impl.create(grant("mine", [r]), conn);
      const again = await impl.create(grant("mine", [r]), conn);
      assert.equal(state(again.outs).rules?.[r], state(killed.outs).rules?.[r]);
      for (const other of [sameName, otherName]) {
        assert.notEqual(state(killed.outs).rules?.[r], state(other.outs).rules?.[r]);
      }
      assert.equal((await rulesFor(r)).length, 3, "one rule per resource");
    });

    it("takes the rule a lost answer hid, and not another resource's", async () => {
      const r = await route("lost-answer");
      const theirs = await impl.create(grant("lost-other", [r]), conn);
      const proxy = await lossyProxy(t.apiUrl, "permissions.add_or_update_access_rule");
      try {
        const { outs } = await impl.create(grant("lost", [r]), { ...conn, apiHost: proxy.url });
        const mine = state(outs).rules?.[r];
        assert.notEqual(mine, state(theirs.outs).rules?.[r]);
        assert.deepEqual(
          (await rulesFor(r)).map((x) => x.id).sort(),
          [mine, state(theirs.outs).rules?.[r]].sort(),
        );
      } finally {
        proxy.close();
      }
    });

    it("reads the rules afresh to update: a rule revoked since this command read it is granted again", async () => {
      const r1 = await route("fresh-1");
      const r2 = await route("fresh-2");
      const a = await impl.create(grant("fresh", [r1]), conn);
      nextCommand();
      await impl.read(a.id, state(a.outs), conn); // `up --refresh`: this command reads the rules
      await t.client.accessRules.delete([state(a.outs).rules?.[r1] as string]); // someone revokes
      await impl.update(a.id, state(a.outs), grant("fresh", [r1, r2]), conn);
      assert.ok(await granted(r1), "granted again");
      assert.ok(await granted(r2));
    });
  });

  describe("in the program", () => {
    it("tells apart two resources of one name under different parents", async () => {
      const recorded = recordResources("shop", "prod", {});
      const appgw = require("@appgw/pulumi") as typeof import("../../provider");
      const teamA = new pulumi.ComponentResource("shop:TeamA", "team-a");
      const teamB = new pulumi.ComponentResource("shop:TeamB", "team-b");
      const args = { group: "g", routes: ["r"] };
      const top = new appgw.GroupAccess("access", args);
      const a = new appgw.GroupAccess("access", args, { parent: teamA });
      const b = new appgw.GroupAccess("access", args, { parent: teamB });
      await Promise.all([top, a, b].map((r) => valueOf(r.urn)));
      const markers = recorded
        .filter((r) => r.type === "pulumi-nodejs:dynamic/appgw:GroupAccess")
        .map((r) => r.inputs.__managedBy as string);
      assert.equal(new Set(markers).size, 3, markers.join(" | "));
      // One without a parent is marked as a StaticRoute is: by its name.
      assert.ok(markers.includes(formatManagedBy({ stack: "shop/prod", resource: "access" })));
    });
  });
});

// Who may serve a static route (gateway/api/policy.ts `mayServe`): a task whose owner the route
// does not admit must never receive its traffic, since that traffic carries other users' requests
// and identity headers. Before this rule any user could point a task of theirs at any route.
import assert from "node:assert/strict";
import { RUNTIME } from "@appgw/sdk";
import { eventually, rejection, userClient, type TestGateway } from "../helpers/gateway";
import {
  attachUpstream,
  createRoute,
  send,
  startDataplaneGateway,
  startUpstream,
} from "../helpers/dataplane";

describe("security: only users a route admits may attach tasks to it", () => {
  let t: TestGateway;
  let team: string;
  const upstreams: { close(): Promise<void> }[] = [];
  let adminToken: string;

  /** An upstream answering `who` to every request, and the headers it saw. */
  async function app(who: string) {
    const seen: Record<string, unknown>[] = [];
    const up = await startUpstream((req, res) => {
      seen.push(req.headers);
      res.end(who);
    });
    upstreams.push(up);
    return { port: up.port, seen };
  }

  /** Which app answered a request through the router, as the admin; undefined when none did. */
  const answeredBy = async (path: string) => {
    const reply = await send(t, path, { headers: { authorization: `Bearer ${adminToken}` } });
    return reply.status === 200 ? reply.text : undefined;
  };

  before(async () => {
    t = await startDataplaneGateway();
    adminToken = await t.client.token();
    const admin = (await t.client.users.me()).user.id;
    ({ id: team } = await t.client.groups.save({ name: "attach-team", users: [admin] }));
  });
  after(async () => {
    await Promise.all(upstreams.map((u) => u.close()));
    await t.stop();
  });

  it("refuses to attach an outsider's task to a route restricted to a group", async () => {
    await createRoute(t, { name: "team-llm", groups: [team], loadBalanced: true });
    const outsider = await userClient(t, "outsider");
    const mine = await app("outsider-app");
    const err = await rejection(() => attachUpstream(t, "team-llm", mine.port, outsider.client));
    assert.equal(err.code, "APPGW_NO_WRITE_PERMISSION");
    assert.equal(err.details?.field, "runtime");
    assert.match(err.message, /team-llm/);
  });

  it("never routes to an outsider's task that named the route before it was restricted", async () => {
    // The task attaches while the route does not exist yet (allowed: nothing to check), then the
    // admin creates the route for a group the owner is not in, and attaches the real app.
    const outsider = await userClient(t, "early-bird");
    const theirs = await app("early-bird-app");
    await attachUpstream(t, "single", theirs.port, outsider.client);
    await createRoute(t, { name: "single", groups: [team] });
    const real = await app("admin-app");
    await attachUpstream(t, "single", real.port);
    assert.equal(await eventually(() => answeredBy("/single/x"), 10_000), "admin-app");
    for (let i = 0; i < 10; i++) assert.equal(await answeredBy("/single/x"), "admin-app");
    assert.equal(theirs.seen.length, 0, "the outsider's app received the route's traffic");
  });

  it("lets a member attach, and drops the task when its owner leaves the group", async () => {
    await createRoute(t, { name: "shared", groups: [team], loadBalanced: true });
    const member = await userClient(t, "member");
    const admin = (await t.client.users.me()).user.id;
    await t.client.groups.save({ id: team, users: [admin, member.id] });
    const theirs = await app("member-app");
    const task = await attachUpstream(t, "shared", theirs.port, member.client);
    await eventually(async () => (await answeredBy("/shared/x")) === "member-app", 10_000);

    await t.client.groups.save({ id: team, users: [admin] });
    await eventually(async () => (await answeredBy("/shared/x")) === undefined);
    const served = theirs.seen.length;
    await answeredBy("/shared/x");
    assert.equal(theirs.seen.length, served);
    // The router takes back the endpoint it had written: the task stays editable for it.
    await eventually(
      async () => (await t.client.tasks.get(task)).runtime?.[RUNTIME.endpoint] === undefined,
    );
  });

  it("lets any user attach to an authenticated route open to every signed-in user", async () => {
    await createRoute(t, { name: "open-to-all" });
    const user = await userClient(t, "anyone");
    const theirs = await app("anyone-app");
    await attachUpstream(t, "open-to-all", theirs.port, user.client);
    await eventually(async () => (await answeredBy("/open-to-all/x")) === "anyone-app", 10_000);
  });

  it("keeps a public route that lists no one for admins' tasks", async () => {
    await createRoute(t, { name: "public-demo", public: true });
    const user = await userClient(t, "squatter");
    const theirs = await app("squatter-app");
    const err = await rejection(() =>
      user.client.tasks.create({ name: "squat", type: "application" }).then((id) =>
        user.client.tasks.editRuntime(id, {
          [RUNTIME.service]: "EXTERNAL",
          [RUNTIME.address]: "127.0.0.1",
          [RUNTIME.port]: String(theirs.port),
          [RUNTIME.mode]: "path",
          [RUNTIME.modeParam]: "public-demo",
        }),
      ),
    );
    assert.equal(err.code, "APPGW_NO_WRITE_PERMISSION");
  });
});

// Passive failover of a load-balanced route: a target that stops taking connections is skipped
// (its sessions move to another target with a new affinity cookie), a request that never reached
// it goes to another target, and the target is probed and used again once it is back.
import assert from "node:assert/strict";
import http from "node:http";
import {
  attachUpstream,
  createRoute,
  send,
  setCookies,
  startUpstream,
  type Reply,
} from "../helpers/dataplane";
import { eventually, startTestGateway, type TestGateway } from "../helpers/gateway";

/** An app that answers with its name and what it received. */
function named(name: string): http.RequestListener {
  return (req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => res.end(JSON.stringify({ name, body })));
  };
}

const answeredBy = (reply: Reply) =>
  reply.status === 200 ? (JSON.parse(reply.text) as { name: string; body: string }) : null;

/** A browser's cookie for the route: the affinity cookie it was last given. */
class Session {
  cookie: string | undefined;

  constructor(private readonly t: TestGateway) {}

  async get(path: string, body?: string): Promise<Reply & { newCookie: boolean }> {
    const reply = await send(this.t, path, {
      method: body === undefined ? "GET" : "POST",
      headers: this.cookie === undefined ? {} : { cookie: this.cookie },
      body,
    });
    const set = setCookies(reply.headers).find((c) => c.startsWith("appgw_aff_"));
    if (set !== undefined) this.cookie = set.split(";")[0];
    return { ...reply, newCookie: set !== undefined };
  }
}

describe("data plane: failover of load-balanced targets", () => {
  let t: TestGateway;
  const apps: { close(): Promise<void> }[] = [];

  before(async () => {
    t = await startTestGateway({ router: { APPGW_TARGET_FAIL_TIMEOUT: "1" }, agent: false });
  });
  after(async () => {
    for (const app of apps) await app.close();
    await t.stop();
  });

  /** A load-balanced route `/<name>` in front of two apps, A and B, once both are routed. */
  async function twoTargets(name: string) {
    const a = await startUpstream(named("A"));
    const b = await startUpstream(named("B"));
    apps.push(a, b);
    await createRoute(t, { name, public: true, loadBalanced: true });
    await attachUpstream(t, name, a.port);
    await attachUpstream(t, name, b.port);
    const reached = new Set<string>();
    await eventually(
      async () => {
        const by = answeredBy(await send(t, `/${name}/`));
        if (by) reached.add(by.name);
        return reached.size === 2;
      },
      10_000,
      `/${name} routed to both apps`,
    );
    return { a, b };
  }

  /** A session that the route pinned to app `name`. */
  async function sessionOn(name: string, path: string): Promise<Session> {
    return eventually(
      async () => {
        const s = new Session(t);
        return answeredBy(await s.get(path))?.name === name ? s : undefined;
      },
      3000,
      `a session on ${name}`,
    );
  }

  it("moves a session pinned to a target that died to the other target, with a new cookie, and uses the target again once it is back", async () => {
    const { a } = await twoTargets("lb");
    const session = await sessionOn("A", "/lb/");
    const pinned = session.cookie;
    assert.equal(answeredBy(await session.get("/lb/"))?.name, "A");

    await a.close();
    const replies = [];
    for (let i = 0; i < 5; i++) replies.push(await session.get("/lb/"));
    const failed = replies.filter((r) => r.status !== 200);
    assert.ok(failed.length <= 1, `failed: ${failed.map((r) => `${r.status} ${r.text}`)}`);
    const served = replies.filter((r) => r.status === 200);
    assert.deepEqual(
      served.map((r) => answeredBy(r)!.name),
      served.map(() => "B"),
    );
    assert.ok(served[0]!.newCookie, "the first answer from B sets a new affinity cookie");
    assert.notEqual(session.cookie, pinned);
    assert.deepEqual(
      served.slice(1).map((r) => r.newCookie),
      served.slice(1).map(() => false),
    );

    // A comes back on its port: once the fail timeout (1 s) has passed, a probe finds it and
    // new sessions reach it again.
    const back = http.createServer(named("A"));
    await new Promise<void>((r) => back.listen(a.port, "127.0.0.1", r));
    apps.push({
      close: () =>
        new Promise<void>((r) => {
          back.closeAllConnections();
          back.close(() => r());
        }),
    });
    await sessionOn("A", "/lb/").catch(() => assert.fail("no new session reached A again"));
    // The moved session stays where it was moved.
    assert.equal(answeredBy(await session.get("/lb/"))?.name, "B");
  });

  it("sends a request that could not connect to its target to another target, body and all", async () => {
    const { b } = await twoTargets("lb2");
    const session = await sessionOn("B", "/lb2/");
    await b.close();
    const reply = await session.get("/lb2/upload", "the body");
    assert.deepEqual(answeredBy(reply), { name: "A", body: "the body" });
    assert.ok(reply.newCookie);
  });
});

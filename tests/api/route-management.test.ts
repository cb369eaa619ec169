// Which tool manages a route: the `X-Appgw-Managed-By` header of `routers.add_or_update_route`,
// kept per route and returned by `routers.get_routes` as `managed_by`, beside ClearML's fields
// (docs/clearml-compatibility.md, "Routes managed by Pulumi").
import assert from "node:assert/strict";
import Database from "better-sqlite3";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { request } from "undici";
import { MIGRATIONS } from "../../gateway/store/db";
import {
  bearerAuth,
  rawCall,
  rejection,
  startTestGateway,
  type TestGateway,
} from "../helpers/gateway";

const HEADER = "X-Appgw-Managed-By";
/** What the provider sends for resource `llm-route` of stack `shop/prod`. */
const SHOP_PROD = "tool=pulumi&stack=shop%2Fprod&resource=llm-route";
const SHOP_PROD_READ = { tool: "pulumi", stack: "shop/prod", resource: "llm-route" };

describe("control API: routes managed by a Pulumi stack (X-Appgw-Managed-By)", () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
  });
  after(() => t.stop());

  /** A disabled path route (editable at once), written with `marker` as the header if given. */
  const write = (name: string, marker?: string, extra: Record<string, unknown> = {}) =>
    t.client.routes.save(
      { name, type: "path", path: `/${name}`, enabled: false, ...extra },
      marker === undefined ? undefined : { headers: { [HEADER]: marker } },
    );
  const managedBy = async (id: string) => {
    const route = await t.client.routes.get(id);
    assert.ok(route, `route ${id} exists`);
    return route.managed_by;
  };

  it("records the stack and resource the header names, and returns them as managed_by", async () => {
    const id = await write("marked", SHOP_PROD);
    assert.deepEqual(await managedBy(id), SHOP_PROD_READ);
  });

  it("decodes the form encoding: spaces, '+', '&' and non-ASCII names", async () => {
    const marker = new URLSearchParams({
      tool: "pulumi",
      stack: "acme/ml-prod",
      resource: "models & notebooks + ünïcode",
    }).toString();
    const id = await write("decoded", marker);
    assert.deepEqual(await managedBy(id), {
      tool: "pulumi",
      stack: "acme/ml-prod",
      resource: "models & notebooks + ünïcode",
    });
  });

  it("returns managed_by: null for a route no tool claimed, and only_fields can ask for it", async () => {
    const plain = await write("plain");
    const marked = await write("plain-marked", SHOP_PROD);
    const res = await rawCall(
      t.apiUrl,
      "routers.get_routes",
      { id: [plain, marked], only_fields: ["managed_by"] },
      await bearerAuth(t.client),
    );
    assert.equal(res.status, 200);
    const byId = new Map(
      (res.json.data.routes as { id: string; managed_by: unknown }[]).map((r) => [r.id, r]),
    );
    assert.deepEqual(byId.get(plain), { id: plain, managed_by: null });
    assert.deepEqual(byId.get(marked), { id: marked, managed_by: SHOP_PROD_READ });
  });

  it("answers the write with ClearML's shape only: the header changes no request or response field", async () => {
    const res = await rawCall(
      t.apiUrl,
      "routers.add_or_update_route",
      { name: "shape", type: "path", path: "/shape" },
      { ...(await bearerAuth(t.client)), [HEADER]: SHOP_PROD },
    );
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.json.data), ["id"]);
  });

  it("keeps the marker through a later write without the header: a console edit is drift, the route still the stack's", async () => {
    const id = await write("kept", SHOP_PROD);
    await t.client.routes.save({ id, name: "kept-renamed", type: "path", path: "/kept-2" });
    await t.client.routes.setEnabled(id, true);
    await t.client.routes.setEnabled(id, false);
    const route = await t.client.routes.get(id);
    assert.equal(route?.name, "kept-renamed", "the edit was applied");
    assert.deepEqual(route?.managed_by, SHOP_PROD_READ);
  });

  it("replaces the marker when a write names another stack (a stack that adopted the route)", async () => {
    const id = await write("moved", SHOP_PROD);
    const other = "tool=pulumi&stack=shop%2Fstaging&resource=llm";
    await t.client.routes.save(
      { id, name: "moved", type: "path", path: "/moved" },
      { headers: { [HEADER]: other } },
    );
    assert.deepEqual(await managedBy(id), {
      tool: "pulumi",
      stack: "shop/staging",
      resource: "llm",
    });
  });

  it("leaves the marker as it was when the write is refused", async () => {
    const id = await write("refused", SHOP_PROD, { enabled: true });
    const err = await rejection(() =>
      t.client.routes.save(
        { id, name: "refused", type: "path", path: "/refused" },
        { headers: { [HEADER]: "tool=pulumi&stack=x%2Fy&resource=z" } },
      ),
    );
    assert.equal(err.subcode, 1101, "an enabled route cannot be edited");
    assert.deepEqual(await managedBy(id), SHOP_PROD_READ);
  });

  describe("a malformed header is ignored, never a reason to refuse the write", () => {
    const long = "r".repeat(257);
    const malformed: [why: string, value: string][] = [
      ["not form-encoded", "pulumi shop/prod llm-route"],
      ["an unknown tool", "tool=terraform&stack=shop%2Fprod&resource=llm-route"],
      ["no tool", "stack=shop%2Fprod&resource=llm-route"],
      ["no resource", "tool=pulumi&stack=shop%2Fprod"],
      ["an empty stack", "tool=pulumi&stack=&resource=llm-route"],
      ["a repeated key", "tool=pulumi&stack=a%2Fb&stack=c%2Fd&resource=llm-route"],
      ["a resource over 256 characters", `tool=pulumi&stack=shop%2Fprod&resource=${long}`],
      ["a line break", "tool=pulumi&stack=shop%2Fprod&resource=llm%0Aroute"],
      ["a bidi override", "tool=pulumi&stack=shop%2Fprod&resource=llm%E2%80%AEroute"],
      ["a header over 8 KB", `tool=pulumi&stack=shop%2Fprod&resource=r&pad=${"x".repeat(8192)}`],
    ];
    for (const [why, value] of malformed) {
      it(`${why}: the route is written, with no marker`, async () => {
        const name = `bad-${malformed.findIndex(([w]) => w === why)}`;
        const id = await write(name, value);
        assert.equal((await t.client.routes.get(id))?.name, name);
        assert.equal(await managedBy(id), null);
      });
    }

    it("a header sent twice (Node joins the values): ignored", async () => {
      const res = await request(`${t.apiUrl}/routers.add_or_update_route`, {
        method: "POST",
        headers: [
          "content-type",
          "application/json",
          "authorization",
          (await bearerAuth(t.client)).authorization,
          HEADER,
          SHOP_PROD,
          HEADER,
          "tool=pulumi&stack=other%2Fstack&resource=r",
        ],
        body: JSON.stringify({ name: "twice", type: "path", path: "/twice" }),
      });
      const json = (await res.body.json()) as { data: { id: string } };
      assert.equal(res.statusCode, 200);
      assert.equal(await managedBy(json.data.id), null);
    });

    it("on a marked route: the marker it has stays", async () => {
      const id = await write("bad-on-marked", SHOP_PROD);
      await t.client.routes.save(
        { id, name: "bad-on-marked", type: "path", path: "/bad-on-marked" },
        { headers: { [HEADER]: "tool=pulumi" } },
      );
      assert.deepEqual(await managedBy(id), SHOP_PROD_READ);
    });
  });

  it("removes the marker with the route: a new route of the same name starts unclaimed", async () => {
    const id = await write("deleted", SHOP_PROD);
    assert.equal(await t.client.routes.delete([id]), 1);
    const again = await write("deleted");
    assert.notEqual(again, id);
    assert.equal(await managedBy(again), null);
  });

  it("keeps the marker across a restart", async () => {
    const id = await write("durable", SHOP_PROD);
    await t.restart();
    assert.deepEqual(await managedBy(id), SHOP_PROD_READ);
  });
});

describe("control API: a data folder of gateway v0.4 gains route markers", () => {
  let t: TestGateway;
  const ts = "2026-01-01T00:00:00.000Z";

  /** The v0.4 schema (the first two migrations) with one route in it. */
  function v04DataDir(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "appgw-v04-"));
    const db = new Database(path.join(dir, "appgw.sqlite"));
    db.exec(MIGRATIONS[0] as string);
    db.exec(MIGRATIONS[1] as string);
    db.pragma("user_version = 2");
    db.prepare(
      `INSERT INTO routes (id, name, path, subdomain, load_balanced, auth_enabled, enabled, created, last_update, updated_by)
         VALUES ('r-old', 'old-route', '/old', NULL, 0, 1, 0, ?, ?, 'u-gone')`,
    ).run(ts, ts);
    db.close();
    return dir;
  }

  before(async () => {
    t = await startTestGateway({ router: false, agent: false, dataDir: v04DataDir() });
  });
  after(() => t.stop());

  it("reads its routes as unclaimed, and marks one at its next write with the header", async () => {
    const old = await t.client.routes.get("r-old");
    assert.equal(old?.name, "old-route");
    assert.equal(old?.managed_by, null);
    await t.client.routes.save(
      { id: "r-old", name: "old-route", type: "path", path: "/old" },
      { headers: { [HEADER]: SHOP_PROD } },
    );
    assert.deepEqual((await t.client.routes.get("r-old"))?.managed_by, SHOP_PROD_READ);
  });
});

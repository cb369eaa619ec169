// The RouterRegistration provider against a real control API (port 0, temp SQLite). Routers
// register themselves; here the test plays the router through the SDK, so the wait is seen
// from both sides without a data plane.
import assert from "node:assert/strict";
import { UNKNOWN } from "../../provider/common";
import {
  routerRegistrationImpl as impl,
  routerRegistrationProvider,
  type RouterRegistrationState,
} from "../../provider/routerRegistration";
import type { ConnectionConfig } from "../../provider/shim";
import { rejection, startTestGateway, type TestGateway } from "../helpers/gateway";
import { checkedInputs, connectionOf } from "../helpers/provider";
import { configureFor, roundTrip } from "../helpers/serialize";

type Inputs = Parameters<typeof impl.create>[0];

const checked = (news: Record<string, unknown>): Promise<Inputs> => checkedInputs(impl, news);

const registerLater = (t: TestGateway, ms: number, body: { name: string; url: string }) =>
  new Promise<string>((resolve, reject) =>
    setTimeout(() => {
      t.client.routers
        .register({ ...body, version: "1.2.3", queues: [], domain: "localhost" })
        .then(({ id }) => resolve(id), reject);
    }, ms),
  );

describe("RouterRegistration provider against a real gateway", () => {
  let t: TestGateway;
  let conn: ConnectionConfig;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
    conn = connectionOf(t);
  });
  after(() => t.stop());

  describe("check", () => {
    it("fills the 300 s default and drops a trailing slash from the expected URL", async () => {
      assert.deepEqual(await checked({ routerName: "r", expectedUrl: "https://r.example.com/" }), {
        routerName: "r",
        timeoutSec: 300,
        expectedUrl: "https://r.example.com",
      });
    });

    it("names every bad property at once", async () => {
      const { failures } = await impl.check(
        {},
        { routerName: "", timeoutSec: 0, expectedUrl: "ftp://x", colour: 1 },
      );
      assert.deepEqual(
        (failures ?? []).map((f) => f.property),
        ["routerName", "timeoutSec", "expectedUrl", "inputs"],
      );
      assert.match(JSON.stringify(failures), /colour/);
    });

    it("lets values unknown during preview pass", async () => {
      const { failures } = await impl.check({}, { routerName: UNKNOWN, triggers: [UNKNOWN, "x"] });
      assert.deepEqual(failures ?? [], []);
    });
  });

  describe("diff", () => {
    const olds = {
      routerName: "r",
      timeoutSec: 300,
      triggers: ["1", "img:a"],
    } as RouterRegistrationState;

    it("sees no change when nothing changed", async () => {
      assert.deepEqual(
        await impl.diff(
          "id",
          olds,
          { routerName: "r", timeoutSec: 300, triggers: ["1", "img:a"] },
          conn,
        ),
        {
          changes: false,
          replaces: [],
          deleteBeforeReplace: false,
        },
      );
    });

    it("waits again (an update) when a trigger changes: a new generation is a new rollout", async () => {
      const diff = await impl.diff(
        "id",
        olds,
        { routerName: "r", timeoutSec: 300, triggers: ["2", "img:a"] },
        conn,
      );
      assert.equal(diff.changes, true);
      assert.deepEqual(diff.replaces, []);
    });

    it("replaces on a new router name: another name is another router", async () => {
      const diff = await impl.diff(
        "id",
        olds,
        { routerName: "r2", timeoutSec: 300, triggers: ["1", "img:a"] },
        conn,
      );
      assert.deepEqual(diff.replaces, ["routerName"]);
    });
  });

  describe("create and update", () => {
    it("waits until the router registers and is online, then records what it registered as", async () => {
      const registering = registerLater(t, 400, {
        name: "late-router",
        url: "https://late.example.com",
      });
      const started = Date.now();
      const created = await impl.create(
        await checked({ routerName: "late-router", timeoutSec: 10 }),
        conn,
      );
      const id = await registering;
      assert.ok(Date.now() - started >= 350, "returned before the router registered");
      assert.equal(created.id, id);
      assert.deepEqual(created.outs, {
        routerName: "late-router",
        timeoutSec: 10,
        routerId: id,
        url: "https://late.example.com",
        version: "1.2.3",
        online: true,
      });
    });

    it("with expectedUrl, ignores the router until it registers with that URL", async () => {
      await t.client.routers.register({
        name: "moving-router",
        url: "https://old.example.com",
        version: "1.0.0",
        queues: [],
        domain: "localhost",
      });
      const reregistering = registerLater(t, 400, {
        name: "moving-router",
        url: "https://new.example.com",
      });
      const created = await impl.create(
        await checked({
          routerName: "moving-router",
          timeoutSec: 10,
          expectedUrl: "https://new.example.com",
        }),
        conn,
      );
      await reregistering;
      assert.equal(created.outs?.url, "https://new.example.com");
    });

    it("fails after the timeout, naming the router and what to check", async () => {
      const started = Date.now();
      const err = await rejection(() =>
        impl.create({ routerName: "never-router", timeoutSec: 1, namespace: "gpu-net" }, conn),
      );
      assert.ok(Date.now() - started < 3000, "the timeout was not kept");
      assert.match(
        err.message,
        /^router 'never-router' did not come online within 1s: no router of that name has registered/,
      );
      assert.match(
        err.message,
        /kubectl logs -n gpu-net deployment\/never-router --all-containers/,
      );
      assert.match(err.message, /CLEARML_API_HOST .* reachable from the cluster/);
      assert.match(err.message, /credentials are valid/);
    });

    it("says which URL it saw when the router is online elsewhere", async () => {
      await t.client.routers.register({
        name: "elsewhere-router",
        url: "https://elsewhere.example.com",
        version: "1.0.0",
        queues: [],
        domain: "localhost",
      });
      const err = await rejection(() =>
        impl.create(
          {
            routerName: "elsewhere-router",
            timeoutSec: 1,
            expectedUrl: "https://here.example.com",
          },
          conn,
        ),
      );
      assert.match(
        err.message,
        /it is online with url https:\/\/elsewhere\.example\.com, not https:\/\/here\.example\.com/,
      );
    });

    it("fails at once, pointing at the stack's settings, when its own credentials are refused", async () => {
      const started = Date.now();
      const err = await rejection(() =>
        impl.create(
          { routerName: "late-router", timeoutSec: 30 },
          { ...conn, secretKey: "wrong-secret" },
        ),
      );
      assert.ok(Date.now() - started < 5000, "kept waiting on refused credentials");
      assert.match(
        err.message,
        /router 'late-router': this stack cannot read routers .*appgw:apiHost, appgw:accessKey/,
      );
    });

    it("waits again on update, and returns the current registration", async () => {
      await registerLater(t, 0, { name: "updated-router", url: "https://updated.example.com" });
      const inputs = await checked({
        routerName: "updated-router",
        timeoutSec: 5,
        triggers: ["2"],
      });
      const { outs } = await impl.update(
        "old-id",
        { ...inputs, triggers: ["1"] } as RouterRegistrationState,
        inputs,
        conn,
      );
      assert.equal(outs?.online, true);
      assert.deepEqual(outs?.triggers, ["2"]);
    });
  });

  describe("read and delete", () => {
    const state: RouterRegistrationState = {
      routerName: "gone-router",
      timeoutSec: 300,
      triggers: ["7"],
      routerId: "id-1",
      url: "https://gone.example.com",
      version: "1.0.0",
      online: true,
    };
    const nowhere: ConnectionConfig = {
      apiHost: "http://127.0.0.1:9",
      accessKey: "x",
      secretKey: "y",
    };

    it("read returns the recorded state without asking the gateway, so refresh never flaps", async () => {
      assert.deepEqual(await impl.read("id-1", state, nowhere), {
        id: "id-1",
        props: state,
        inputs: { routerName: "gone-router", timeoutSec: 300, triggers: ["7"] },
      });
    });

    it("delete leaves the router's registration alone", async () => {
      await impl.delete("any", state, nowhere);
      const id = await registerLater(t, 0, {
        name: "kept-router",
        url: "https://kept.example.com",
      });
      await impl.delete(id, { ...state, routerName: "kept-router", routerId: id }, conn);
      assert.equal((await t.client.routers.findByName("kept-router"))?.id, id);
    });
  });

  it("waits from its serialized form, configured from stack config", async () => {
    // Size and credentials of the serialized text: tests/provider/serialized.test.ts.
    const { loaded } = await roundTrip(routerRegistrationProvider);
    await configureFor(loaded, t);
    const registering = registerLater(t, 100, {
      name: "serialized-router",
      url: "https://s.example.com",
    });
    const checkedInputs = await loaded.check?.(
      {},
      { routerName: "serialized-router", timeoutSec: 5 },
    );
    const created = await loaded.create(checkedInputs?.inputs);
    assert.equal(created.id, await registering);
    assert.equal(created.outs.routerName, "serialized-router");
    assert.equal(created.outs.online, true);
  });
});

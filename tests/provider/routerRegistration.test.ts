// The RouterRegistration provider against a real control API (port 0, temp SQLite). Routers
// register themselves with `routers.task_router_report`; here the test mostly plays the router
// through the SDK, so the wait is seen from both sides, and once waits for the gateway's own
// embedded router.
import assert from "node:assert/strict";
import { UNKNOWN } from "../../provider/common";
import { routerRegistrationImpl as impl } from "../../provider/providers/routerRegistration";
import {
  routerRegistrationProvider,
  type RouterRegistrationState,
} from "../../provider/routerRegistration";
import type { ConnectionConfig } from "../../provider/shim";
import type { ActionRequest } from "@appgw/sdk";
import { rejection, startTestGateway, type TestGateway } from "../helpers/gateway";
import { checkedInputs, connectionOf } from "../helpers/provider";
import { configureFor, roundTrip } from "../helpers/serialize";

type Inputs = Parameters<typeof impl.create>[0];
type Report = ActionRequest<"routers.task_router_report">;

const checked = (news: Record<string, unknown>): Promise<Inputs> => checkedInputs(impl, news);

/** Registers (or re-reports) a router after `ms`, as a router does at start. */
const reportLater = (t: TestGateway, ms: number, body: Report) =>
  new Promise<void>((resolve, reject) =>
    setTimeout(() => {
      t.client.routers.report({ version: "1.2.3", timeout: 60, ...body }).then(resolve, reject);
    }, ms),
  );

const EMBEDDED = "embedded-router";

describe("RouterRegistration provider against a real gateway", () => {
  let t: TestGateway;
  let conn: ConnectionConfig;
  before(async () => {
    t = await startTestGateway({ agent: false, router: { ROUTER_NAME: EMBEDDED } });
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
    it("waits until the router is listed, then records what it registered as, with its name as id", async () => {
      const registering = reportLater(t, 400, {
        router: "late-router",
        url: "https://late.example.com",
      });
      const started = Date.now();
      const created = await impl.create(
        await checked({ routerName: "late-router", timeoutSec: 10 }),
        conn,
      );
      await registering;
      assert.ok(Date.now() - started >= 350, "returned before the router registered");
      assert.deepEqual(created, {
        id: "late-router",
        outs: {
          routerName: "late-router",
          timeoutSec: 10,
          routerId: "late-router",
          url: "https://late.example.com",
          version: "1.2.3",
          online: true,
        },
      });
    });

    it("waits for the gateway's embedded router, which registers itself", async () => {
      const { id, outs } = await impl.create(
        await checked({ routerName: EMBEDDED, timeoutSec: 10, expectedUrl: t.routerUrl }),
        conn,
      );
      assert.equal(id, EMBEDDED);
      assert.equal(outs?.url, t.routerUrl);
      assert.equal(outs?.online, true);
    });

    it("leaves version out when the router reported none", async () => {
      await reportLater(t, 0, {
        router: "versionless-router",
        url: "https://v.example.com",
        version: undefined,
      });
      const { outs } = await impl.create(
        await checked({ routerName: "versionless-router", timeoutSec: 5 }),
        conn,
      );
      assert.equal(outs?.url, "https://v.example.com");
      assert.ok(!("version" in (outs ?? {})), JSON.stringify(outs));
    });

    it("with expectedUrl, ignores the router until it reports that URL", async () => {
      await reportLater(t, 0, { router: "moving-router", url: "https://old.example.com" });
      const reregistering = reportLater(t, 400, {
        router: "moving-router",
        url: "https://new.example.com/",
      });
      const created = await impl.create(
        await checked({
          routerName: "moving-router",
          timeoutSec: 10,
          expectedUrl: "https://new.example.com/",
        }),
        conn,
      );
      await reregistering;
      assert.equal(created.outs?.url, "https://new.example.com/");
      assert.equal(created.outs?.expectedUrl, "https://new.example.com");
    });

    it("fails after the timeout, naming the router and what to check", async () => {
      const started = Date.now();
      const err = await rejection(() =>
        impl.create({ routerName: "never-router", timeoutSec: 1, namespace: "gpu-net" }, conn),
      );
      assert.ok(Date.now() - started < 3000, "the timeout was not kept");
      assert.match(
        err.message,
        /^router 'never-router' did not come online within 1s: no router of that name is registered/,
      );
      assert.match(
        err.message,
        /kubectl logs -n gpu-net deployment\/never-router --all-containers/,
      );
      assert.match(err.message, /CLEARML_API_HOST .* reachable from the cluster/);
      assert.match(err.message, /credentials are valid/);
    });

    it("does not count a router that stopped reporting: the control API drops it after its timeout", async () => {
      await reportLater(t, 0, {
        router: "silent-router",
        url: "https://silent.example.com",
        timeout: 1,
      });
      assert.ok(await t.client.routers.find("silent-router"), "listed right after its report");
      await new Promise((r) => setTimeout(r, 1500));
      const err = await rejection(() =>
        impl.create({ routerName: "silent-router", timeoutSec: 1 }, conn),
      );
      assert.match(err.message, /no router of that name is registered/);
    });

    it("says which URL it saw when the router is online elsewhere", async () => {
      await reportLater(t, 0, {
        router: "elsewhere-router",
        url: "https://elsewhere.example.com",
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
          { ...conn, secretKey: "wrong-secret-0123456789" },
        ),
      );
      assert.ok(Date.now() - started < 5000, "kept waiting on refused credentials");
      assert.match(
        err.message,
        /router 'late-router': this stack cannot read routers .*appgw:apiHost, appgw:accessKey/,
      );
    });

    it("fails at once when the stack's user may not list routers (not an administrator)", async () => {
      const { credentials } = await t.client.addUser({ name: "not-an-admin" });
      const started = Date.now();
      const err = await rejection(() =>
        impl.create(
          { routerName: "late-router", timeoutSec: 30 },
          {
            apiHost: t.apiUrl,
            accessKey: credentials.access_key,
            secretKey: credentials.secret_key,
          },
        ),
      );
      assert.ok(Date.now() - started < 5000, "kept waiting on a refused call");
      assert.match(err.message, /cannot read routers .*needs an administrator's credentials/);
    });

    it("waits again on update, and returns the current registration", async () => {
      await reportLater(t, 0, { router: "updated-router", url: "https://updated.example.com" });
      const inputs = await checked({
        routerName: "updated-router",
        timeoutSec: 5,
        triggers: ["2"],
      });
      const { outs } = await impl.update(
        "updated-router",
        { ...inputs, triggers: ["1"] } as RouterRegistrationState,
        inputs,
        conn,
      );
      assert.equal(outs?.online, true);
      assert.equal(outs?.routerId, "updated-router");
      assert.deepEqual(outs?.triggers, ["2"]);
    });
  });

  describe("read and delete", () => {
    const state: RouterRegistrationState = {
      routerName: "gone-router",
      timeoutSec: 300,
      triggers: ["7"],
      routerId: "gone-router",
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
      assert.deepEqual(await impl.read("gone-router", state, nowhere), {
        id: "gone-router",
        props: state,
        inputs: { routerName: "gone-router", timeoutSec: 300, triggers: ["7"] },
      });
    });

    it("delete leaves the router's registration alone", async () => {
      await impl.delete("any", state, nowhere);
      await reportLater(t, 0, { router: "kept-router", url: "https://kept.example.com" });
      await impl.delete(
        "kept-router",
        { ...state, routerName: "kept-router", routerId: "kept-router" },
        conn,
      );
      assert.equal((await t.client.routers.find("kept-router"))?.url, "https://kept.example.com");
    });
  });

  it("waits from its serialized form, configured from stack config", async () => {
    // Size and credentials of the serialized text: tests/provider/serialized.test.ts.
    const { loaded } = await roundTrip(routerRegistrationProvider);
    await configureFor(loaded, t);
    const registering = reportLater(t, 100, {
      router: "serialized-router",
      url: "https://s.example.com",
    });
    const checkedInputs = await loaded.check?.(
      {},
      { routerName: "serialized-router", timeoutSec: 5 },
    );
    const created = await loaded.create(checkedInputs?.inputs);
    await registering;
    assert.equal(created.id, "serialized-router");
    assert.equal(created.outs.routerName, "serialized-router");
    assert.equal(created.outs.online, true);
  });
});

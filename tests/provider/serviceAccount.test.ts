// The ServiceAccount provider against a real control API (port 0, temp SQLite): create, read,
// delete, a router logging in with the keys it made, and the secret kept out of plain text,
// from the serialized provider to the resource's registration.
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { honourSecretOutputs } from "../helpers/mocks";
import { UNKNOWN } from "../../provider/common";
import { serviceAccountImpl as impl } from "../../provider/providers/serviceAccount";
import { serviceAccountProvider, type ServiceAccountState } from "../../provider/serviceAccount";
import type { ConnectionConfig } from "../../provider/shim";
import { AppGatewayClient } from "@appgw/sdk";
import { rejection, startTestGateway, type TestGateway } from "../helpers/gateway";
import { lossyProxy } from "../helpers/api-proxy";
import { checkedInputs, connectionOf } from "../helpers/provider";
import { configureFor, roundTrip } from "../helpers/serialize";

type Inputs = Parameters<typeof impl.create>[0];

const checked = (news: Record<string, unknown>): Promise<Inputs> => checkedInputs(impl, news);

/** A client logged in with the account's own keys. */
const clientOf = (t: TestGateway, s: ServiceAccountState): AppGatewayClient =>
  new AppGatewayClient({ apiHost: t.apiUrl, accessKey: s.accessKey, secretKey: s.secretKey });

describe("ServiceAccount provider against a real gateway", () => {
  let t: TestGateway;
  let conn: ConnectionConfig;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
    conn = connectionOf(t);
  });
  after(() => t.stop());

  const usersNamed = async (name: string) =>
    (await t.client.users.list({ name: `^${name}$` })).filter((u) => u.name === name);

  describe("check", () => {
    it("defaults allowRunningAsOwner to false, as ClearML does", async () => {
      assert.deepEqual(await checked({ name: "sa-check" }), {
        name: "sa-check",
        allowRunningAsOwner: false,
      });
    });

    it("names every bad property at once", async () => {
      const { failures } = await impl.check(
        {},
        { name: "", allowRunningAsOwner: "yes", credentialsExpirationSec: 10, colour: 1 },
      );
      assert.deepEqual(
        (failures ?? []).map((f) => f.property),
        ["name", "allowRunningAsOwner", "credentialsExpirationSec", "inputs"],
      );
      assert.match(JSON.stringify(failures), /colour/);
    });

    it("lets a name unknown during preview pass", async () => {
      const { failures } = await impl.check({}, { name: UNKNOWN });
      assert.deepEqual(failures ?? [], []);
    });
  });

  describe("diff", () => {
    const olds = {
      name: "sa",
      allowRunningAsOwner: false,
      userId: "u1",
      accessKey: "K",
      secretKey: "S",
    } as ServiceAccountState;

    it("sees no change when nothing changed", async () => {
      assert.deepEqual(
        await impl.diff("u1", olds, { name: "sa", allowRunningAsOwner: false }, conn),
        { changes: false, replaces: [], deleteBeforeReplace: false },
      );
    });

    it("replaces on a new name, creating the new account before deleting the old one", async () => {
      assert.deepEqual(
        await impl.diff("u1", olds, { name: "sa-2", allowRunningAsOwner: false }, conn),
        { changes: true, replaces: ["name"], deleteBeforeReplace: false },
      );
    });

    it("replaces under the same name by deleting first: the name is taken until then", async () => {
      assert.deepEqual(
        await impl.diff(
          "u1",
          olds,
          { name: "sa", allowRunningAsOwner: true, credentialsExpirationSec: 3600 },
          conn,
        ),
        {
          changes: true,
          replaces: ["allowRunningAsOwner", "credentialsExpirationSec"],
          deleteBeforeReplace: true,
        },
      );
    });
  });

  describe("create, read and delete", () => {
    it("creates the account and records its first key pair; the account is a listed user", async () => {
      const { id, outs } = await impl.create(
        await checked({ name: "sa-created", credentialsExpirationSec: 3600 }),
        conn,
      );
      assert.ok(outs);
      assert.match(id, /^[0-9a-f]{32}$/);
      assert.equal(outs.userId, id);
      assert.equal(outs.name, "sa-created");
      assert.equal(outs.allowRunningAsOwner, false);
      assert.equal(outs.credentialsExpirationSec, 3600);
      assert.ok(outs.accessKey.length > 0 && outs.secretKey.length > 0);
      assert.deepEqual(
        (await usersNamed("sa-created")).map((u) => u.id),
        [id],
      );
    });

    it("gives keys a router can log in and register with", async () => {
      const { id, outs } = await impl.create(await checked({ name: "sa-router" }), conn);
      assert.ok(outs);
      const router = clientOf(t, outs);
      assert.equal((await router.users.me()).user.id, id);
      // What a router does at start: routers.task_router_report, which needs an administrator
      // or a service account.
      await router.routers.report({
        router: "sa-logged-in-router",
        url: "https://sa.example.com",
        version: "1.0.0",
        timeout: 60,
      });
      assert.equal(
        (await t.client.routers.find("sa-logged-in-router"))?.url,
        "https://sa.example.com",
      );
      await router.routers.unregister("sa-logged-in-router");
    });

    it("read keeps the secret from state (the API never returns it again) and reports the actual name", async () => {
      const inputs = await checked({ name: "sa-read", allowRunningAsOwner: true });
      const { id, outs } = await impl.create(inputs, conn);
      assert.ok(outs);
      const read = await impl.read(id, outs, conn);
      assert.deepEqual(read, { id, props: outs, inputs });
      assert.equal(read.props?.secretKey, outs.secretKey);
    });

    it("read of a deleted account says it is gone", async () => {
      const { id, outs } = await impl.create(await checked({ name: "sa-vanished" }), conn);
      await t.client.users.delete(id);
      assert.deepEqual(await impl.read(id, outs as ServiceAccountState, conn), {});
    });

    it("delete removes the account, its keys stop working, and deleting again is fine", async () => {
      const { id, outs } = await impl.create(await checked({ name: "sa-deleted" }), conn);
      assert.ok(outs);
      await impl.delete(id, outs, conn);
      assert.deepEqual(await usersNamed("sa-deleted"), []);
      const err = await rejection(() => clientOf(t, outs).users.me());
      assert.equal(err.statusCode, 401, String(err));
      // Already gone (by hand, or by an interrupted run): nothing to do.
      await impl.delete(id, outs, conn);
    });

    it("refuses a name that is taken, explaining that accounts cannot be adopted", async () => {
      const { outs } = await impl.create(await checked({ name: "sa-taken" }), conn);
      const err = await rejection(async () =>
        impl.create(await checked({ name: "sa-taken" }), conn),
      );
      assert.match(
        err.message,
        /^service account 'sa-taken': a user of that name already exists\. Service accounts cannot be adopted/,
      );
      assert.deepEqual(
        (await usersNamed("sa-taken")).map((u) => u.id),
        [outs?.userId],
      );
    });

    it("when the answer to its creation is lost, deletes the account it made (its secret is gone) and says to run again", async () => {
      const proxy = await lossyProxy(t.apiUrl, "auth.create_service_user");
      try {
        const err = await rejection(async () =>
          impl.create(await checked({ name: "sa-lost" }), { ...conn, apiHost: proxy.url }),
        );
        assert.match(
          err.message,
          /^service account 'sa-lost': the answer to its creation was lost .*; the account it created was deleted, since its secret was lost\. Run `pulumi up` again$/,
        );
      } finally {
        proxy.close();
      }
      assert.deepEqual(await usersNamed("sa-lost"), []);
      // And the retry works.
      const { outs } = await impl.create(await checked({ name: "sa-lost" }), conn);
      assert.equal(outs?.name, "sa-lost");
    });
  });

  describe("serialized", () => {
    it("serializes to a small closure that captures no credentials", async () => {
      process.env.CLEARML_API_SECRET_KEY = "never-in-state-secret";
      try {
        const { text } = await roundTrip(serviceAccountProvider);
        assert.ok(!text.includes("never-in-state-secret"));
        assert.ok(!text.includes(t.admin.secretKey));
        assert.ok(text.length < 20_000, `serialized provider is ${text.length} bytes`);
      } finally {
        delete process.env.CLEARML_API_SECRET_KEY;
      }
    });

    it("creates, reads and deletes from its serialized form, configured from stack config", async () => {
      const { loaded } = await roundTrip(serviceAccountProvider);
      await configureFor(loaded, t);
      const checkedInputs = await loaded.check?.({}, { name: "sa-serialized" });
      const created = await loaded.create(checkedInputs?.inputs);
      assert.equal((await usersNamed("sa-serialized"))[0]?.id, created.id);
      const read = await loaded.read?.(created.id, created.outs);
      assert.equal(read?.props?.secretKey, created.outs.secretKey);
      await loaded.delete?.(created.id, created.outs);
      assert.deepEqual(await usersNamed("sa-serialized"), []);
    });
  });
});

describe("ServiceAccount resource (under Pulumi mocks)", () => {
  const SECRET = "sa-secret-never-in-plain-state";
  /** `additionalSecretOutputs` of each registration, by Pulumi name. */
  const secretOutputs = new Map<string, string[]>();

  /**
   * Pulumi's mocks, plus what the engine does with `additionalSecretOutputs` (the mock monitor
   * ignores it): the outputs named there come back as secrets.
   */
  function installMocks(): void {
    pulumi.runtime.setMocks(
      {
        newResource: (args) => ({
          id: "5a1e0000000000000000000000000002",
          state: {
            ...args.inputs,
            allowRunningAsOwner: args.inputs.allowRunningAsOwner ?? false,
            userId: "5a1e0000000000000000000000000002",
            accessKey: "SAACCESSKEY2",
            secretKey: SECRET,
          },
        }),
        call: (args) => args.inputs,
      },
      "appgw",
      "test",
      false,
    );
    honourSecretOutputs(secretOutputs);
  }

  const valueOf = <T>(o: pulumi.Output<T>): Promise<T> =>
    new Promise((resolve) => o.apply((v) => resolve(v)));

  it("registers secretKey as an additional secret output, so state holds it only encrypted", async () => {
    installMocks();
    const { ServiceAccount } =
      require("../../provider/serviceAccount") as typeof import("../../provider/serviceAccount");
    const account = new ServiceAccount(
      "router-account",
      { name: "appgw-router" },
      { additionalSecretOutputs: ["expire"] },
    );
    await valueOf(account.urn);
    // The caller's own additionalSecretOutputs are kept.
    assert.deepEqual(secretOutputs.get("router-account"), ["expire", "secretKey"]);

    assert.equal(await pulumi.isSecret(account.secretKey), true);
    assert.equal(await pulumi.isSecret(account.accessKey), false);
    assert.equal(await valueOf(account.secretKey), SECRET);

    // The outputs as the SDK serializes them for the engine (what goes into state): the secret
    // travels only inside a secret envelope, which the engine encrypts.
    const serialized = await pulumi.runtime.serializeProperties("test", {
      accessKey: account.accessKey,
      secretKey: account.secretKey,
      userId: account.userId,
    });
    assert.deepEqual(serialized, {
      accessKey: "SAACCESSKEY2",
      secretKey: {
        [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig,
        value: SECRET,
      },
      userId: "5a1e0000000000000000000000000002",
    });
  });
});

// The provider as Pulumi's provider process runs it (provider/runtime.ts): the gateway the
// program names is recorded and compared, refused credentials fail the first diff once, and an
// error many resources share is given in full once.
import assert from "node:assert/strict";
import type * as pulumi from "@pulumi/pulumi";
import { runtimeProvider } from "../../provider/runtime";
import { staticRouteImpl } from "../../provider/providers/staticRoute";
import { OBSERVED, SETTINGS } from "../../provider/staticRoute";
import { rejection, startTestGateway, type TestGateway } from "../helpers/gateway";
import { nextCommand } from "../helpers/provider";

/** What Pulumi's `configure` hands over: the stack's config. */
function configured(config: Record<string, string>): pulumi.dynamic.ConfigureRequest {
  return { config: { get: (key: string) => config[key] } } as pulumi.dynamic.ConfigureRequest;
}

describe("the provider in Pulumi's provider process", () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
  });
  after(() => t.stop());

  const stackConfig = (secretKey = t.admin.secretKey) =>
    configured({
      "appgw:apiHost": t.apiUrl,
      "appgw:accessKey": t.admin.accessKey,
      "appgw:secretKey": secretKey,
    });

  it("records the gateway the program names and shows a change of it as a diff", async () => {
    const p = runtimeProvider(staticRouteImpl);
    await p.configure(stackConfig());
    const { inputs } = await p.check({}, { name: "rt-host", path: "/rt-host", apiHost: t.apiUrl });
    assert.equal(inputs.apiHost, t.apiUrl);
    const { id, outs } = await p.create(inputs);
    assert.equal(outs.apiHost, t.apiUrl);
    assert.equal((await p.diff(id, outs, inputs)).changes, false);
    const moved = { ...inputs, apiHost: "https://other-gateway.example.com" };
    assert.equal((await p.diff(id, outs, moved)).changes, true);
    const read = await p.read(id, outs);
    assert.equal(read.props?.apiHost, t.apiUrl);
    assert.equal(read.inputs?.apiHost, t.apiUrl);
    await p.delete(id, outs);
  });

  it("says which gateways differ when an update fails after apiHost changed", async () => {
    const p = runtimeProvider(staticRouteImpl);
    await p.configure(stackConfig());
    const { inputs } = await p.check(
      {},
      { name: "rt-moved", path: "/rt-moved", apiHost: t.apiUrl },
    );
    const { id, outs } = await p.create(inputs);
    // This gateway never held it: as if the stack had been made on another one.
    await t.client.routes.delete([id]);
    const err = await rejection(() =>
      p.update(id, { ...outs, apiHost: "https://old-gateway.example.com" }, inputs),
    );
    assert.match(
      err.message,
      new RegExp(
        `^appgw:apiHost is ${t.apiUrl}, and this resource was made on https://old-gateway.example.com: ` +
          "route 'rt-moved' .* no longer exists on the gateway",
      ),
    );
  });

  it("fails the first diff with the gateway's refusal when the credentials are wrong, once in full", async () => {
    nextCommand();
    const p = runtimeProvider(staticRouteImpl);
    await p.configure(stackConfig("not-the-secret-0123456789"));
    const olds = { name: "x", path: "/x", apiHost: t.apiUrl };
    const first = await rejection(() => p.diff("id-1", olds, olds));
    assert.equal(
      first.message,
      "appgw: cannot compare this stack with the gateway: auth.login: invalid access key or secret key",
    );
    assert.equal(first.stack, "");
    const second = await rejection(() => p.diff("id-2", olds, olds));
    assert.equal(second.message, "appgw: the same error as for another resource, above");
  });

  it("keeps StaticRoute's computed outputs under one key, and reads a state written flat", async () => {
    const p = runtimeProvider(staticRouteImpl);
    await p.configure(stackConfig());
    const { inputs } = await p.check({}, { name: "rt-nest", path: "/rt-nest", apiHost: t.apiUrl });
    const { id, outs } = await p.create(inputs);
    assert.equal(outs.observed.status, "Not In Use");
    for (const field of OBSERVED) assert.ok(!(field in outs), `${field} is not also at the top`);
    // The settings stay at the top (what diff and the drift check compare) and are copied under
    // the key, where the class reads those the program left unset.
    assert.deepEqual(
      Object.keys(outs.observed).sort(),
      [...OBSERVED, ...SETTINGS.filter((k) => k in outs)].sort(),
    );
    assert.equal(outs.enabled, true);
    assert.equal(outs.observed.enabled, true);
    assert.equal((await p.diff(id, outs, inputs)).changes, false);
    // As 0.3.0 before nesting wrote it: the same fields at the top.
    const flatOuts = { ...outs, ...outs.observed, observed: undefined };
    const read = await p.read(id, flatOuts);
    assert.equal(read.props?.observed.status, "Not In Use");
    assert.equal(read.props?.path, "/rt-nest");
    await p.delete(id, outs);
  });
});

// The CI drift gate, `pulumi preview --refresh --expect-no-changes`, over 100 routes: when it
// cannot tell the truth (the gateway down, the credentials wrong, the stack pointed at another
// gateway) it must fail, fast, with one clear message rather than one error per resource.
import assert from "node:assert/strict";
import type { PulumiProject, PulumiRun } from "../../scripts/pulumi";
import { startTestGateway, type TestGateway } from "../helpers/gateway";
import { connect, routesStack } from "./helpers";

const N = 100;
const GATE = ["preview", "--refresh", "--expect-no-changes"];

describe("the drift gate over 100 routes", () => {
  let t: TestGateway;
  let project: PulumiProject;
  let stop: (() => Promise<void>) | undefined;

  before(async () => {
    ({ t, project, stop } = await routesStack(N));
    await project.ok(["up", "--yes", "--skip-preview"]);
    await project.ok(GATE);
  });
  after(() => stop?.());

  const gate = async (): Promise<{ run: PulumiRun; seconds: number }> => {
    const started = Date.now();
    const run = await project.run(GATE);
    return { run, seconds: (Date.now() - started) / 1000 };
  };
  /**
   * Fails within 15 s and gives `message` for one resource only: Pulumi shows a resource's error
   * in its progress line and in the diagnostics, and the dynamic provider host echoes it, so up to
   * four lines; every other resource points at it. No stack trace.
   */
  const failsClearly = (r: { run: PulumiRun; seconds: number }, message: RegExp): void => {
    assert.notEqual(r.run.code, 0, r.run.output);
    assert.ok(r.seconds < 15, `failed after ${r.seconds} s`);
    const said = r.run.output.split("\n").filter((l) => message.test(l));
    assert.ok(said.length >= 1 && said.length <= 4, `said ${said.length} times:\n${r.run.output}`);
    assert.doesNotMatch(r.run.output, /^\s+at .+:\d+:\d+\)?$/m, "no stack trace");
  };

  it("fails with one message when the secret in stack config is wrong", async () => {
    await project.ok(["config", "set", "--secret", "appgw:secretKey", "not-the-secret-0123"]);
    try {
      failsClearly(await gate(), /invalid access key or secret key/);
    } finally {
      await connect(project, t);
    }
    await project.ok(GATE);
  });

  it("fails when appgw:apiHost points at another gateway", async () => {
    const other = await startTestGateway({ router: false, agent: false });
    try {
      await project.ok(["config", "set", "appgw:apiHost", other.apiUrl]);
      const r = await gate();
      assert.notEqual(r.run.code, 0, r.run.output);
      // Every route shows the change of gateway as its diff.
      const shown = r.run.output.match(/StaticRoute r\d+ update \[diff: ~apiHost\]/g) ?? [];
      assert.equal(new Set(shown).size, N, r.run.output);
    } finally {
      await connect(project, t);
      await other.stop();
    }
    await project.ok(GATE);
  });

  it("fails within 15 s with one message when the gateway is down", async () => {
    await t.stop();
    failsClearly(await gate(), /cannot reach .+ \(ECONNREFUSED\)/);
  });
});

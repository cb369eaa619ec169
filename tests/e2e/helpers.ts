// Shared set-up of the end-to-end suite: the real Pulumi CLI against a real gateway.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { request } from "undici";
import { PulumiProject, pulumiBinDir, REPO } from "../../scripts/pulumi";
import type { ReferenceGatewayClient } from "../../sdk/reference";
import { startTestGateway, type TestGateway } from "../helpers/gateway";

/**
 * Every ClearML action the provider calls during this suite, one per line: the Pulumi CLI's
 * provider processes append to it (APPGW_SDK_TRACE), and endpoints.test.ts reads it last.
 */
export const TRACE_FILE = path.join(os.tmpdir(), `appgw-e2e-trace-${process.pid}.log`);

/** The CLI, or one loud line and a failure: this suite never passes by skipping. */
export function requirePulumi(): string {
  try {
    return pulumiBinDir(false);
  } catch (err) {
    console.error(
      `\n\x1b[31m*** END-TO-END SUITE CANNOT RUN: ${(err as Error).message} ***\x1b[0m\n`,
    );
    throw err;
  }
}

/**
 * A copy of `examples/<name>` at the same depth (`examples/.e2e-<name>-<pid>`), so its imports
 * still resolve while its stack config files stay out of the committed example.
 */
export function copyExample(name: string): { dir: string; remove: () => void } {
  const dir = path.join(REPO, "examples", `.e2e-${name}-${process.pid}`);
  fs.cpSync(path.join(REPO, "examples", name), dir, { recursive: true });
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export function newProject(
  dir: string,
  binDir: string,
): { project: PulumiProject; workDir: string } {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "appgw-e2e-"));
  const project = new PulumiProject(dir, { binDir, workDir, passphrase: "e2e-passphrase" });
  project.env.APPGW_SDK_TRACE = TRACE_FILE;
  return { project, workDir };
}

/** A program of `n` StaticRoutes `r<i>` on paths `/r<i>`, as a project inside the repository. */
export function routesProject(
  n: number,
  binDir: string,
): { project: PulumiProject; remove: () => void } {
  // Inside the repository, so @appgw/pulumi resolves from its node_modules.
  const dir = fs.mkdtempSync(path.join(REPO, "examples", ".e2e-routes-"));
  fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: routes\nruntime: nodejs\n");
  fs.writeFileSync(path.join(dir, "package.json"), '{ "name": "routes", "main": "index.ts" }');
  fs.copyFileSync(
    path.join(REPO, "examples", "local", "tsconfig.json"),
    path.join(dir, "tsconfig.json"),
  );
  fs.writeFileSync(
    path.join(dir, "index.ts"),
    'import * as appgw from "@appgw/pulumi";\n' +
      `for (let i = 0; i < ${n}; i++)\n` +
      "  new appgw.StaticRoute(`r${i}`, { name: `r${i}`, path: `/r${i}` });\n",
  );
  const { project, workDir } = newProject(dir, binDir);
  const remove = () => {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(workDir, { recursive: true, force: true });
  };
  return { project, remove };
}

/**
 * A gateway (API only) and stack `e2e` of a program of `n` StaticRoutes connected to it: the
 * set-up of the suites that drive many routes. `stop` removes both.
 */
export async function routesStack(
  n: number,
): Promise<{ t: TestGateway; project: PulumiProject; stop: () => Promise<void> }> {
  const binDir = requirePulumi();
  const t = await startTestGateway({ router: false, agent: false });
  const { project, remove } = routesProject(n, binDir);
  await project.stack("e2e");
  await connect(project, t);
  return {
    t,
    project,
    stop: async () => {
      remove();
      await t.stop();
    },
  };
}

/** Points the project's current stack at the test gateway; the secret goes in as a secret. */
export async function connect(
  project: PulumiProject,
  t: Pick<TestGateway, "apiUrl" | "admin">,
): Promise<void> {
  await project.config(
    { "appgw:apiHost": t.apiUrl, "appgw:accessKey": t.admin.accessKey },
    { "appgw:secretKey": t.admin.secretKey },
  );
}

/**
 * One more `pulumi up` after a run was cut short. A CLI killed mid-run leaves the stack locked:
 * then the up fails saying so, and `pulumi cancel` and one more up must succeed.
 */
export async function upAfterInterruption(project: PulumiProject): Promise<void> {
  const up = await project.run(["up", "--yes", "--skip-preview"]);
  if (up.code !== 0) {
    assert.match(up.output, /locked/, `a failed up says why:\n${up.output.slice(-2000)}`);
    await project.ok(["cancel", "--yes"]);
    await project.ok(["up", "--yes", "--skip-preview"]);
  }
}

/** Starts an echo app attached to static route `route` on the embedded agent; returns the task id. */
export function attachApp(client: ReferenceGatewayClient, route: string): Promise<string> {
  return client.startEcho({ queue: "default", name: `app-on-${route}`, staticRoute: route });
}

/** GET through the router with the admin's token. */
export async function get(url: string, token: string): Promise<{ status: number; body: string }> {
  const res = await request(url, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.statusCode, body: await res.body.text() };
}

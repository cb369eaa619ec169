// Regression: CI once failed `an up killed with kill -9` with `failed to load checkpoint: EOF`.
// Pulumi's file backend (gocloud.dev fileblob) renames each checkpoint into place, but writes its
// `<file>.attrs` metadata sidecar in place; the kill had landed between truncating and writing
// that sidecar. The file backend of the demo, the tests and the benches (fileBackendUrl) writes
// no sidecar, so a kill at any moment leaves a readable stack.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { PulumiProject } from "../../scripts/pulumi";
import { routesStack } from "./helpers";

/** Every file under `dir`, as paths relative to it. */
function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

describe("the file backend of the demo and the tests", () => {
  let project: PulumiProject;
  let stop: (() => Promise<void>) | undefined;
  let state: string;
  before(async () => {
    ({ project, stop } = await routesStack(1));
    state = fileURLToPath(project.env.PULUMI_BACKEND_URL as string);
  });
  after(() => stop?.());

  const checkpoint = () => path.join(state, ".pulumi", "stacks", "routes", "e2e.json");

  it("writes no metadata sidecar, the file a killed CLI could leave half-written", async () => {
    await project.ok(["up", "--yes", "--skip-preview"]);
    const files = filesUnder(state);
    assert.ok(
      fs.existsSync(checkpoint()),
      `the stack's checkpoint is written: ${files.join(", ")}`,
    );
    assert.deepEqual(
      files.filter((f) => f.endsWith(".attrs")),
      [],
    );
  });

  it("needs it: an empty sidecar beside the checkpoint stops every command until removed", async () => {
    // What the kill left in CI, made on purpose: the pinned CLI cannot read the stack.
    fs.writeFileSync(`${checkpoint()}.attrs`, "");
    const broken = await project.run(["stack", "output"]);
    assert.notEqual(broken.code, 0);
    assert.match(broken.output, /failed to load checkpoint: EOF/);
    fs.rmSync(`${checkpoint()}.attrs`);
    await project.ok(["preview", "--expect-no-changes"]);
    await project.ok(["destroy", "--yes", "--skip-preview"]);
  });
});

// The packages as a user gets them: `npm pack`, installed into a new Pulumi TypeScript project
// outside this repository (Pulumi's stock tsconfig, no workspace, no tsx), `pulumi up` there,
// then the project moved to another folder where refresh, the drift check and destroy must
// still find the provider's code. The steps build on each other, in order.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { PulumiProject, REPO } from "../../scripts/pulumi";
import { startTestGateway, type TestGateway } from "../helpers/gateway";
import { connect, requirePulumi, TRACE_FILE } from "./helpers";

const run = promisify(execFile);
const LEGACY_CLOSURE = fs.readFileSync(
  path.join(__dirname, "fixtures", "staticRoute-provider-0.2.js"),
  "utf8",
);

// What `pulumi new typescript` writes, with our package added.
const PROGRAM = `import * as appgw from "@appgw/pulumi";

const team = new appgw.Group("team", { name: "outside-team" });
const models = new appgw.StaticRoute("models", {
  name: "outside-models",
  path: "/outside-models",
  accessGroups: [team.id],
});
const status = new appgw.StaticRoute("status", {
  name: "outside-status",
  subdomain: "outside-status",
  authenticated: false,
});

export const access = { models: models.access, status: status.access };
`;
const STOCK_TSCONFIG = {
  compilerOptions: {
    strict: true,
    outDir: "bin",
    target: "es2020",
    module: "commonjs",
    moduleResolution: "node",
    sourceMap: true,
    experimentalDecorators: true,
    pretty: true,
    noFallthroughCasesInSwitch: true,
    noImplicitReturns: true,
    forceConsistentCasingInFileNames: true,
  },
  files: ["index.ts"],
};

interface State {
  deployment: {
    resources: {
      urn: string;
      type: string;
      inputs?: Record<string, unknown>;
      outputs?: Record<string, unknown>;
    }[];
  };
}

describe("the packed packages in a Pulumi project outside the repository", () => {
  let t: TestGateway;
  let root: string;
  let project: PulumiProject;
  let options: ConstructorParameters<typeof PulumiProject>[1];

  before(async function () {
    this.timeout(600_000);
    const binDir = requirePulumi();
    root = fs.mkdtempSync(path.join(os.tmpdir(), "appgw-outside-"));
    const packs = path.join(root, "packs");
    fs.mkdirSync(packs);
    await run("npm", ["run", "build"], { cwd: REPO });
    const tarballs: Record<string, string> = {};
    for (const ws of ["sdk", "provider"]) {
      const { stdout } = await run(
        "npm",
        ["pack", "--json", "--workspace", ws, "--pack-destination", packs],
        { cwd: REPO },
      );
      const [info] = JSON.parse(stdout) as { name: string; filename: string }[];
      tarballs[info!.name] = path.join(packs, info!.filename);
    }
    const dir = path.join(root, "first");
    fs.mkdirSync(dir);
    fs.writeFileSync(
      path.join(dir, "Pulumi.yaml"),
      "name: outside\nruntime:\n  name: nodejs\n  options:\n    packagemanager: npm\n",
    );
    fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify(STOCK_TSCONFIG, null, 2));
    fs.writeFileSync(path.join(dir, "index.ts"), PROGRAM);
    const devPulumi = (
      JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8")) as {
        devDependencies: Record<string, string>;
      }
    ).devDependencies["@pulumi/pulumi"];
    fs.writeFileSync(
      path.join(dir, "package.json"),
      JSON.stringify({
        name: "outside",
        main: "index.ts",
        devDependencies: { "@types/node": "^20", typescript: "^5.0.0" },
        dependencies: {
          "@pulumi/pulumi": devPulumi,
          "@appgw/sdk": `file:${tarballs["@appgw/sdk"]}`,
          "@appgw/pulumi": `file:${tarballs["@appgw/pulumi"]}`,
        },
      }),
    );
    await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline"], {
      cwd: dir,
      timeout: 480_000,
    });
    options = { binDir, workDir: path.join(root, "pulumi"), passphrase: "outside" };
    project = new PulumiProject(dir, options);
    project.env.APPGW_SDK_TRACE = TRACE_FILE;
    t = await startTestGateway({ router: false, agent: false });
    await project.stack("outside");
    await connect(project, t);
  });
  after(async () => {
    await t?.stop();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  const state = async (): Promise<State> =>
    JSON.parse((await project.ok(["stack", "export"])).stdout) as State;
  const closures = (s: State): string[] =>
    s.deployment.resources.flatMap((r) =>
      [r.inputs?.__provider, r.outputs?.__provider].filter((c) => typeof c === "string"),
    ) as string[];

  it("installs as a dependency that needs no server, no native module and no TypeScript runtime", () => {
    const modules = path.join(project.dir, "node_modules");
    for (const absent of ["fastify", "better-sqlite3", "tsx", "@appgw/gateway"])
      assert.ok(!fs.existsSync(path.join(modules, absent)), `${absent} is not installed`);
    const installed = path.join(modules, "@appgw", "pulumi");
    assert.ok(fs.existsSync(path.join(installed, "dist", "index.d.ts")));
    assert.ok(!fs.readdirSync(installed).some((f) => f.endsWith(".ts")), "no sources at the top");
  });

  it("type-checks under Pulumi's stock tsconfig: no esModuleInterop, no skipLibCheck", async () => {
    // Its public declarations bring no zod (whose own need esModuleInterop) into the program.
    const tsc = path.join(project.dir, "node_modules", ".bin", "tsc");
    const checked = await run(tsc, ["--noEmit", "-p", project.dir]).then(
      () => "",
      (err: { stdout?: string; message: string }) => err.stdout || err.message,
    );
    assert.equal(checked, "", "tsc --noEmit reports no error");
  });

  it("up creates the program's objects", async () => {
    await project.ok(["up", "--yes", "--skip-preview"]);
    assert.ok(await t.client.routes.findByName("outside-models"));
    assert.ok(await t.client.routes.findByName("outside-status"));
    assert.deepEqual(await project.outputs(), {
      access: { models: ["outside-team"], status: ["Public"] },
    });
    for (const closure of closures(await state())) {
      // An installed package is recorded by reference: a require of its module, nothing else.
      assert.match(
        closure,
        /require\("@appgw\/pulumi\/serialized\/(staticRoute|group|groupAccess)"\)/,
      );
      assert.ok(closure.length < 600, `a ${closure.length}-byte closure`);
      assert.ok(!closure.includes(root), "the state names no folder of this machine");
    }
  });

  it("one up repairs a state written by 0.2, whose provider closure loads a file path", async () => {
    const before = await state();
    const routeUrns = before.deployment.resources
      .filter((r) => r.type.endsWith("appgw:StaticRoute"))
      .map((r) => r.urn);
    for (const r of before.deployment.resources) {
      if (!routeUrns.includes(r.urn)) continue;
      r.inputs!.__provider = LEGACY_CLOSURE;
      r.outputs!.__provider = LEGACY_CLOSURE;
    }
    const file = path.join(root, "legacy-state.json");
    fs.writeFileSync(file, JSON.stringify(before));
    await project.ok(["stack", "import", "--file", file]);
    const ids = await Promise.all(
      ["outside-models", "outside-status"].map(async (n) => (await t.client.routes.findByName(n))!),
    );

    const up = await project.ok(["up", "--yes", "--skip-preview"]);
    assert.match(up.output, /2 updated/);
    const after = await state();
    for (const urn of routeUrns) {
      const r = after.deployment.resources.find((x) => x.urn === urn)!;
      assert.ok(String(r.outputs?.__provider).includes('require("@appgw/pulumi/serialized/'), urn);
    }
    // Only the closure changed: the routes were not touched.
    for (const old of ids) {
      const now = await t.client.routes.get(old.id);
      assert.equal(now?.last_update, old.last_update, `${old.name} was not edited`);
    }
    await project.ok(["preview", "--expect-no-changes"]);
  });

  it("moved to another folder, refresh, the drift check and destroy all find the provider", async () => {
    const moved = path.join(root, "moved", "elsewhere");
    fs.mkdirSync(path.dirname(moved), { recursive: true });
    fs.renameSync(project.dir, moved);
    project = new PulumiProject(moved, options);
    project.env.APPGW_SDK_TRACE = TRACE_FILE;
    await project.stack("outside");

    await project.ok(["refresh", "--yes", "--skip-preview"]);
    await project.ok(["preview", "--refresh", "--expect-no-changes"]);
    await project.ok(["destroy", "--yes", "--skip-preview"]);
    assert.equal(await t.client.routes.findByName("outside-models"), undefined);
    assert.equal(await t.client.routes.findByName("outside-status"), undefined);
    assert.equal(await t.client.groups.findByName("outside-team"), undefined);
  });
});

// The architecture's dependency rules are enforced by `npm run lint` (eslint.config.mjs): this
// lints imports that break them, as if written in each part, and expects each to be refused.
import assert from "node:assert/strict";
import path from "node:path";
import { ESLint } from "eslint";

const ROOT = path.resolve(__dirname, "..", "..");

async function refusals(file: string, source: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: ROOT });
  const [result] = await eslint.lintText(source, { filePath: path.join(ROOT, file) });
  return (result?.messages ?? [])
    .filter((m) => m.ruleId === "no-restricted-imports")
    .map((m) => m.message);
}

describe("dependency rules checked by npm run lint", () => {
  const cases: [file: string, imports: string[], reason: RegExp][] = [
    [
      "sdk/example.ts",
      ["@appgw/gateway", "@appgw/pulumi", "@pulumi/pulumi", "fastify", "../gateway/store"],
      /the SDK is a client/,
    ],
    [
      "provider/example.ts",
      ["@appgw/gateway", "@appgw/gateway/store", "better-sqlite3", "../gateway/api/app"],
      /the provider reaches the gateway only through the SDK/,
    ],
    [
      "gateway/router/example.ts",
      ["../api/app", "../store", "fastify", "better-sqlite3"],
      /routers and agents reach the control plane only through the SDK/,
    ],
    [
      "gateway/console/example.ts",
      ["../api/app", "../store", "../router/table", "better-sqlite3"],
      /the settings page reads and writes only through the API, with the SDK/,
    ],
  ];
  for (const [file, imports, reason] of cases) {
    it(`refuses ${imports.join(", ")} in ${path.dirname(file)}/`, async () => {
      for (const from of imports) {
        const found = await refusals(file, `import "${from}";\n`);
        assert.equal(found.length, 1, `${from} in ${file}: ${found.join("; ")}`);
        assert.match(found[0]!, reason);
      }
    });
  }

  it("lets each part import the SDK", async () => {
    for (const file of [
      "provider/example.ts",
      "gateway/router/example.ts",
      "gateway/console/example.ts",
    ]) {
      assert.deepEqual(await refusals(file, 'import "@appgw/sdk";\n'), []);
    }
  });
});

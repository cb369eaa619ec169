// `npm test`: every layer, cheapest first, each run even when an earlier one failed, so one
// failure never hides the rest; a summary names each layer's result. Layers that need the build
// are not run when it failed. The browser suite needs Chromium: as root on Debian it is
// installed when missing; otherwise that suite is reported as not run, with the command to run,
// and the whole run fails (never counted as passed). `npm test -- unit e2e` runs the layers named.
import { spawnSync } from "node:child_process";
import fs from "node:fs";

interface Layer {
  name: string;
  script: string;
  needsBuild?: boolean;
  /** Why the layer cannot run here, checked just before it would; undefined: it can. */
  missing?: () => string | undefined;
}

const LAYERS: Layer[] = [
  { name: "lint", script: "lint" },
  { name: "typecheck", script: "typecheck" },
  { name: "build", script: "build" },
  { name: "unit", script: "test:unit" },
  { name: "browser", script: "test:browser", missing: chromiumMissing },
  { name: "e2e", script: "test:e2e", needsBuild: true },
  { name: "faults", script: "test:faults", needsBuild: true },
  { name: "clearml", script: "test:clearml", needsBuild: true },
];

/** The Chromium the browser suite drives (tests/console/browser.ts reads the same setting). */
function chromiumMissing(): string | undefined {
  const chromium = process.env.CHROMIUM ?? "/usr/bin/chromium";
  if (fs.existsSync(chromium)) return undefined;
  const install = "apt-get install chromium";
  const apt = spawnSync("sh", ["-c", "command -v apt-get"], { stdio: "ignore" }).status === 0;
  if (apt && process.getuid?.() === 0 && !process.env.CHROMIUM) {
    console.log(`\nChromium is missing: installing Debian's (${install})`);
    const ok = spawnSync("sh", ["-c", `apt-get update -qq && ${install} -y -qq`], {
      stdio: "inherit",
    });
    if (ok.status === 0 && fs.existsSync(chromium)) return undefined;
  }
  return `no Chromium at ${chromium}: run '${install}' as root, or set CHROMIUM`;
}

const named = process.argv.slice(2);
const unknown = named.filter((n) => !LAYERS.some((l) => l.name === n));
if (unknown.length) {
  console.error(
    `unknown layer(s): ${unknown.join(", ")}; layers: ${LAYERS.map((l) => l.name).join(", ")}`,
  );
  process.exit(2);
}

const results: { name: string; result: string; seconds: number }[] = [];
let buildFailed = false;
for (const layer of LAYERS.filter((l) => !named.length || named.includes(l.name))) {
  const started = Date.now();
  const missing = layer.needsBuild && buildFailed ? "the build failed" : layer.missing?.();
  let result: string;
  if (missing) {
    result = `NOT RUN: ${missing}`;
  } else {
    console.log(`\n=== ${layer.name}: npm run ${layer.script}`);
    const run = spawnSync("npm", ["run", layer.script], { stdio: "inherit" });
    result = run.status === 0 ? "passed" : `FAILED (exit ${run.status ?? run.signal})`;
    if (layer.name === "build" && run.status !== 0) buildFailed = true;
  }
  results.push({ name: layer.name, result, seconds: Math.round((Date.now() - started) / 1000) });
}

console.log("\nnpm test, by layer:");
for (const r of results) {
  console.log(`  ${r.name.padEnd(10)} ${String(r.seconds).padStart(5)} s  ${r.result}`);
}
process.exit(results.every((r) => r.result === "passed") ? 0 : 1);

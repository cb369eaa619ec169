// Runs last: every call ClearML's SDK and agent made in this suite, with the status the gateway
// gave. None may fail but the ones listed in EXPECTED, each with why. `UPDATE_AUDIT=1` rewrites
// docs/clearml-audit.md from this run.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { format, resolveConfig } from "prettier";
import { REPO } from "../../scripts/pulumi";
import { clearmlEnv } from "./environment";

/** Failures the clients cause on purpose, as they would against a ClearML server. */
const EXPECTED: Record<string, string> = {
  "queues.get_by_id 400":
    "the SDK's get_queue_id first tries a queue's name as its id; ClearML answers 400/701 too, and the SDK then looks the name up",
};

/** Calls the suite's flows cannot do without: a missing one means a flow stopped early. */
const REQUIRED = [
  "auth.login",
  "projects.get_all",
  "projects.create",
  "tasks.create",
  "tasks.edit",
  "tasks.enqueue",
  "tasks.get_by_id",
  "workers.register",
  "workers.status_report",
  "queues.get_next_task",
  "tasks.dequeue",
  "tasks.started",
  "tasks.completed",
  "events.add_batch",
  "workers.unregister",
];

describe("endpoint audit of ClearML's SDK and agent", () => {
  it("every call they made was answered, but the failures they provoke on purpose", async () => {
    const { proxy, agent } = clearmlEnv();
    await agent.stop(); // its unregister belongs in the audit
    const rows = new Map<string, { versions: Set<string>; count: number }>();
    for (const x of proxy.exchanges) {
      const parts = x.path.split("/").filter(Boolean);
      const action = parts.at(-1) ?? "";
      const key = `${action} ${x.status}`;
      const row = rows.get(key) ?? { versions: new Set<string>(), count: 0 };
      row.versions.add(parts.length > 1 ? (parts[0] ?? "") : "none");
      row.count++;
      rows.set(key, row);
    }
    const table = [...rows.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, r]) => {
        const [action, status] = key.split(" ");
        const note = EXPECTED[key] ?? "";
        return `| \`${action}\` | ${[...r.versions].sort().join(", ")} | ${status} | ${r.count} | ${note} |`;
      });
    const report = [
      "| endpoint | version prefix | status | calls | why it failed |",
      "| --- | --- | --- | --- | --- |",
      ...table,
    ].join("\n");
    console.log(`\n${report}\n`);
    if (process.env.UPDATE_AUDIT) await writeAudit(report);

    const unexpected = [...rows.keys()].filter((k) => !k.endsWith(" 200") && !(k in EXPECTED));
    assert.deepEqual(unexpected, [], "calls the gateway refused");
    const called = new Set([...rows.keys()].map((k) => k.split(" ")[0]));
    assert.deepEqual(
      REQUIRED.filter((a) => !called.has(a)),
      [],
      "calls the flows must have made",
    );
  });
});

/** Puts `report` in place of the table of docs/clearml-audit.md, formatted as the repository's. */
async function writeAudit(report: string): Promise<void> {
  const file = path.join(REPO, "docs", "clearml-audit.md");
  const text = fs.readFileSync(file, "utf8");
  const start = text.indexOf("| endpoint |");
  const end = text.indexOf("\n\n", start);
  const next = text.slice(0, start) + report + (end < 0 ? "\n" : text.slice(end));
  fs.writeFileSync(file, await format(next, { ...(await resolveConfig(file)), filepath: file }));
}

// RouterTest's dynamic provider: runs the SDK's router test and records its verdict.
import { z } from "zod";
import { runRouterTest } from "@appgw/sdk";
import { checkInputs, clientFor } from "../common";
import type { RouterTestInputs, RouterTestState } from "../routerTest";
import type { ConnectionConfig, Implementation } from "../shim";

const inputsSchema = z.strictObject({
  router: z.string().min(1),
  queue: z.string().min(1),
  timeoutSec: z.number().int().min(5).max(3600).default(120),
  allowInsecure: z.boolean().default(false),
  triggers: z.array(z.unknown()).optional(),
});

const LOG_TAIL = 15;

function inputsOf(s: RouterTestState): RouterTestInputs {
  return {
    router: s.router,
    queue: s.queue,
    timeoutSec: s.timeoutSec,
    allowInsecure: s.allowInsecure ?? false,
    ...(s.triggers ? { triggers: s.triggers } : {}),
  };
}

/** Runs the router test and waits for its verdict; a failed test throws with the log's tail. */
async function runTest(
  inputs: RouterTestInputs,
  conn: ConnectionConfig,
): Promise<{ id: string; outs: RouterTestState }> {
  const { log, ...result } = await runRouterTest(clientFor(conn), {
    router: inputs.router,
    queue: inputs.queue,
    timeoutSec: inputs.timeoutSec,
    allowInsecure: inputs.allowInsecure,
    progress: (line) => console.error(`router test '${inputs.router}': ${line}`),
  });
  const logTail = log.slice(-LOG_TAIL);
  if (result.status !== "passed") {
    throw new Error(
      `router test of '${inputs.router}' failed (${result.statusReason}): ${result.statusMessage}\n` +
        `--- last ${logTail.length} lines of the test log ---\n${logTail.join("\n")}`,
    );
  }
  return { id: inputs.router, outs: { ...inputs, ...result, routerId: inputs.router, logTail } };
}

export const routerTestImpl: Implementation<RouterTestInputs, RouterTestState> = {
  async check(_olds, news) {
    return checkInputs(inputsSchema, news);
  },

  async diff(_id, olds, news) {
    const changes =
      olds.router !== news.router ||
      olds.queue !== news.queue ||
      olds.timeoutSec !== news.timeoutSec ||
      (olds.allowInsecure ?? false) !== news.allowInsecure ||
      JSON.stringify(olds.triggers ?? null) !== JSON.stringify(news.triggers ?? null);
    return { changes };
  },

  create: runTest,

  /** A test is a past event: refresh keeps the recorded result, so it never flaps or re-runs. */
  async read(id, props) {
    return { id, props, inputs: inputsOf(props) };
  },

  async update(_id, _olds, news, conn) {
    return { outs: (await runTest(news, conn)).outs };
  },

  async delete() {
    // The stopped test task stays on the gateway as the record of the test.
  },
};

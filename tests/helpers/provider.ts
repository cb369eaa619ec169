// Driving a provider implementation directly, as the provider process would.
import assert from "node:assert/strict";
import type * as pulumi from "@pulumi/pulumi";
import type { ConnectionConfig } from "../../provider/shim";
import type { TestGateway } from "./gateway";

/** Runs `check` and returns the resolved inputs; any check failure fails the test. */
export async function checkedInputs<I>(
  impl: {
    check(olds: Partial<I>, news: Record<string, unknown>): Promise<pulumi.dynamic.CheckResult<I>>;
  },
  news: Record<string, unknown>,
): Promise<I> {
  const result = await impl.check({}, news);
  assert.deepEqual(result.failures ?? [], []);
  return result.inputs as I;
}

/** The connection settings a stack would give for the test gateway, as its administrator. */
export function connectionOf(t: TestGateway): ConnectionConfig {
  return { apiHost: t.apiUrl, ...t.admin };
}

/**
 * What the next Pulumi command starts with: a new provider process, with no client and nothing
 * read yet. A provider process shares its reads for a few seconds (provider/reads.ts), so a test
 * that changes the gateway out of band and then reads models the read as the next command.
 */
export { forgetConnections as nextCommand } from "../../provider/common";

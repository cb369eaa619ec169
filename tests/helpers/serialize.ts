// Serializes a dynamic provider as Pulumi does for state, and loads it back from the text, as
// the provider process does.
import * as pulumi from "@pulumi/pulumi";
import type { TestGateway } from "./gateway";

const requireFromString = require("require-from-string") as (code: string) => {
  handler: () => pulumi.dynamic.ResourceProvider;
};

export async function roundTrip(
  provider: pulumi.dynamic.ResourceProvider,
): Promise<{ text: string; loaded: pulumi.dynamic.ResourceProvider }> {
  const sf = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
  return { text: sf.text, loaded: requireFromString(sf.text).handler() };
}

/** Runs `configure` with the stack config a user would set for the test gateway. */
export async function configureFor(
  loaded: pulumi.dynamic.ResourceProvider,
  t: TestGateway,
): Promise<void> {
  const config: Record<string, string> = {
    "appgw:apiHost": t.apiUrl,
    "appgw:accessKey": t.admin.accessKey,
    "appgw:secretKey": t.admin.secretKey,
  };
  await loaded.configure?.({
    config: { get: (k) => config[k], require: (k) => config[k] as string },
  });
}

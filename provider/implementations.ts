// What the serialized providers load in Pulumi's provider process, by package name
// (`@appgw/pulumi/implementations`), so state written anywhere runs anywhere: see shim.ts.
import { groupImpl } from "./providers/group";
import { groupAccessImpl } from "./providers/groupAccess";
import { routerRegistrationImpl } from "./providers/routerRegistration";
import { routerTestImpl } from "./providers/routerTest";
import { runtimeProvider, type ResourceProvider } from "./runtime";
import { serviceAccountImpl } from "./providers/serviceAccount";
import { staticRouteImpl } from "./providers/staticRoute";

import type { ImplementationName } from "./shim";

export type { ImplementationName };

// Exactly one provider per name the states record.
const implementations = {
  staticRouteImpl,
  groupImpl,
  groupAccessImpl,
  routerTestImpl,
  routerRegistrationImpl,
  serviceAccountImpl,
} satisfies Record<ImplementationName, unknown>;

const providers = new Map<ImplementationName, ResourceProvider>();

/** The provider of one resource type, made once per process. */
export function provider(name: ImplementationName): ResourceProvider {
  let made = providers.get(name);
  if (!made) {
    const impl = implementations[name] as Parameters<typeof runtimeProvider>[0];
    if (!impl) throw new Error(`@appgw/pulumi: no resource implementation named '${name}'`);
    made = runtimeProvider(impl);
    providers.set(name, made);
  }
  return made;
}

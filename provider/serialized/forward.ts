// What the state's closure of an installed package refers to: Pulumi captures a module that
// lives in node_modules as `require("<package>/<export>")` instead of serializing it, so each
// resource type has a module (./<type>.ts) whose exports are its provider's methods. They load
// the implementations on first use, in the provider process only.
import type * as pulumi from "@pulumi/pulumi";
import type { ImplementationName } from "../implementations";

type Provider = Required<pulumi.dynamic.ResourceProvider>;

/** The methods of provider `name`, each forwarding to the implementation loaded on first call. */
export function forward(name: ImplementationName): Provider {
  let loaded: Provider | undefined;
  const p = (): Provider =>
    (loaded ??= (require("../implementations") as typeof import("../implementations")).provider(
      name,
    ));
  return {
    configure: (req) => p().configure(req),
    check: (olds, news) => p().check(olds, news),
    diff: (id, olds, news) => p().diff(id, olds, news),
    create: (inputs) => p().create(inputs),
    read: (id, props) => p().read(id, props),
    update: (id, olds, news) => p().update(id, olds, news),
    delete: (id, props) => p().delete(id, props),
  };
}

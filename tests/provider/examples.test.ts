// The example programs under Pulumi's mocks: what each asks the engine for, exactly. The real
// CLI runs examples/local and examples/environments end to end in tests/e2e.
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import path from "node:path";
import { find, loadProgram, recordResources, resolveAll } from "../helpers/mocks";

const EXAMPLES = path.resolve(__dirname, "..", "..", "examples");
const T = (name: string) => `pulumi-nodejs:dynamic/appgw:${name}`;
/** What the provider stores for a route: its computed outputs under `observed`. */
const routeOutputs = () => ({ observed: { status: "Not In Use", urls: [], access: ["Public"] } });

/**
 * The inputs a dynamic resource sent, without the serialized provider and the marker naming the
 * stack that manages it (tests/provider/managed-by.test.ts checks that).
 */
function args(r: { inputs: Record<string, any> }): Record<string, any> {
  const { __provider, __managedBy, ...rest } = r.inputs;
  assert.equal(typeof __provider, "string", "the provider was serialized");
  if (__managedBy !== undefined) assert.match(__managedBy, /^tool=pulumi&stack=[^&]+&resource=/);
  return Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
}

describe("example programs under mocks", () => {
  it("examples/local declares its routes, group, group access and router test", async () => {
    const recorded = recordResources(
      "appgw-local",
      "dev",
      { "appgw-local:teamMembers": '["ann"]' },
      (r) =>
        r.type === T("StaticRoute")
          ? routeOutputs()
          : r.type === T("RouterTest")
            ? { status: "passed" }
            : {},
    );
    const program = loadProgram(path.join(EXAMPLES, "local", "index.ts"));
    const outputs = (await resolveAll(program)) as any;
    assert.deepEqual(args(find(recorded, T("Group"), "ml-team")), {
      name: "ml-team",
      description: "Data scientists using the shared model server",
      members: ["ann"],
    });
    assert.deepEqual(args(find(recorded, T("StaticRoute"), "llm")), {
      name: "llm",
      path: "/llm",
      loadBalanced: true,
      accessGroups: ["ml-team-id", "admins"],
    });
    assert.deepEqual(args(find(recorded, T("StaticRoute"), "notebooks")), {
      name: "notebooks",
      subdomain: "notebooks",
    });
    assert.deepEqual(args(find(recorded, T("StaticRoute"), "status")), {
      name: "status",
      path: "/status",
      authenticated: false,
    });
    assert.deepEqual(args(find(recorded, T("GroupAccess"), "ml-team-notebooks")), {
      group: "ml-team-id",
      routes: ["notebooks-id"],
    });
    assert.deepEqual(args(find(recorded, T("RouterTest"), "router-test")), {
      router: "router-1",
      queue: "default",
      timeoutSec: 60,
      triggers: ["/llm"],
    });
    assert.equal(outputs.routes.llm.status, "Not In Use");
    assert.equal(outputs.routerTest.status, "passed");
  });

  for (const stack of ["dev", "prod"]) {
    it(`examples/environments names every object after the '${stack}' stack`, async () => {
      const config: Record<string, string> =
        stack === "prod"
          ? {
              "appgw-environments:loadBalanced": "true",
              "appgw-environments:routerName": "router-1",
              "appgw-environments:testQueue": "default",
            }
          : { "appgw-environments:notebooksPublic": "true" };
      const recorded = recordResources("appgw-environments", stack, config);
      loadProgram(path.join(EXAMPLES, "environments", "index.ts"));
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(args(find(recorded, T("StaticRoute"), "llm")), {
        name: `${stack}-llm`,
        path: `/${stack}/llm`,
        loadBalanced: stack === "prod",
        accessGroups: ["team-id", "admins"],
      });
      assert.equal(
        args(find(recorded, T("StaticRoute"), "notebooks")).authenticated,
        stack === "prod",
      );
      assert.equal(args(find(recorded, T("Group"), "team")).name, `${stack}-ml-team`);
      assert.equal(
        recorded.some((r) => r.type === T("RouterTest")),
        stack === "prod",
      );
    });
  }

  it("examples/kubernetes refuses to run without the reference router's image, before creating anything", async () => {
    const recorded = recordResources("appgw-kubernetes", "dev", {
      "appgw:apiHost": "https://api.example.com",
      "appgw-kubernetes:host": "gw.example.com",
    });
    assert.throws(
      () => loadProgram(path.join(EXAMPLES, "kubernetes", "index.ts")),
      (err: unknown) => {
        assert.ok(pulumi.RunError.isInstance(err), String(err));
        assert.equal(
          err.message,
          "Missing required configuration variable 'appgw-kubernetes:routerImage': the reference " +
            "router's image. Build it at the repository's root with `docker build -f " +
            "gateway/Dockerfile -t <registry>/appgw-gateway:<version> .`, push it where the " +
            "cluster pulls from, then `pulumi config set routerImage <registry>/appgw-gateway:<version>`.",
        );
        return true;
      },
    );
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(recorded, []);
  });

  it("examples/kubernetes runs ClearML's default images without a router image for flavour clearml", async () => {
    const recorded = recordResources("appgw-kubernetes", "dev", {
      "appgw:apiHost": "https://api.example.com",
      "appgw-kubernetes:host": "gw.example.com",
      "appgw-kubernetes:flavour": "clearml",
    });
    loadProgram(path.join(EXAMPLES, "kubernetes", "index.ts"));
    await new Promise((r) => setTimeout(r, 200));
    const deployment = find(recorded, "kubernetes:apps/v1:Deployment", "router-deployment");
    assert.deepEqual(
      deployment.inputs.spec.template.spec.containers.map((c: { image: string }) => c.image),
      ["clearml/ai-gateway-router:2.14.0", "clearml/ai-gateway-proxy:1.8.1"],
    );
  });

  it("examples/kubernetes deploys a router, a route, and a test triggered by the rollout", async () => {
    const recorded = recordResources(
      "appgw-kubernetes",
      "dev",
      {
        "appgw:apiHost": "https://api.example.com",
        "appgw-kubernetes:host": "gw.example.com",
        "appgw-kubernetes:routerImage": "registry.example.com/appgw-gateway:0.3.0",
      },
      (r) =>
        r.type === T("ServiceAccount")
          ? {
              allowRunningAsOwner: false,
              userId: "u1",
              accessKey: "SAKEY",
              secretKey: "router-secret-value",
            }
          : r.type === "kubernetes:apps/v1:Deployment"
            ? { metadata: { ...r.inputs.metadata, generation: 1 } }
            : r.type === T("RouterRegistration")
              ? { routerId: "r1", url: "https://gw.example.com", version: "1", online: true }
              : {},
    );
    loadProgram(path.join(EXAMPLES, "kubernetes", "index.ts"));
    await new Promise((r) => setTimeout(r, 200));
    const deployment = find(recorded, "kubernetes:apps/v1:Deployment", "router-deployment");
    const [container] = deployment.inputs.spec.template.spec.containers;
    assert.equal(container.image, "registry.example.com/appgw-gateway:0.3.0");
    const env = container.env as { name: string; value?: string }[];
    assert.equal(env.find((e) => e.name === "ROUTER_URL")?.value, "https://gw.example.com");
    assert.equal(env.find((e) => e.name === "CLEARML_API_HOST")?.value, "https://api.example.com");
    assert.ok(
      !JSON.stringify(deployment.inputs).includes("router-secret-value"),
      "the secret is not in the Deployment",
    );
    assert.equal(
      find(recorded, "kubernetes:networking.k8s.io/v1:Ingress", "router-ingress").inputs.spec
        .rules[0].host,
      "gw.example.com",
    );
    // Every dynamic resource also carries the gateway it lives on (provider/shim.ts).
    assert.deepEqual(args(find(recorded, T("ServiceAccount"), "router-account")), {
      name: "appgw-k8s-router",
      apiHost: "https://api.example.com",
    });
    assert.deepEqual(
      find(recorded, "kubernetes:core/v1:Secret", "router-secret").inputs.stringData,
      {
        [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig,
        value: { CLEARML_API_ACCESS_KEY: "SAKEY", CLEARML_API_SECRET_KEY: "router-secret-value" },
      },
      "the router's keys come from the service account, as a secret",
    );
    const test = args(find(recorded, T("RouterTest"), "router-test"));
    assert.equal(test.router, "k8s-router");
    assert.equal(test.queue, "gpu");
    assert.equal(test.triggers[0], 1, "the deployment's generation triggers a new test");
  });
});

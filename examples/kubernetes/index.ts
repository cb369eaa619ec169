// A router on Kubernetes (the reference router, or ClearML's two containers), its routes, and
// a router test that re-runs whenever the router's deployment changes.
import * as pulumi from "@pulumi/pulumi";
// In your own project: import * as appgw from "appgw-as-code";
import * as appgw from "../../provider";

const config = new pulumi.Config();
const appgwConfig = new pulumi.Config("appgw");
const routerName = config.get("routerName") ?? "k8s-router";
const host = config.require("host");

const router = new appgw.RouterDeployment("router", {
  namespace: config.get("namespace") ?? "appgw",
  routerName,
  flavour: (config.get("flavour") as "reference" | "clearml" | undefined) ?? "reference",
  externalUrl: `https://${host}`,
  // The router reaches the control API from inside the cluster; often not the URL you use here.
  apiHost: config.get("routerApiHost") ?? appgwConfig.require("apiHost"),
  accessKey: config.require("routerAccessKey"),
  secretKey: config.requireSecret("routerSecretKey"),
  listenQueues: config.getObject<string[]>("listenQueues") ?? ["gpu"],
  domain: host,
  ingress: {
    host,
    className: config.get("ingressClass") ?? "nginx",
    tlsSecretName: config.get("tlsSecret"),
  },
  replicas: config.getNumber("replicas") ?? 2,
  waitForRegistration: { timeoutSec: 300 },
});

const llm = new appgw.StaticRoute("llm", {
  name: "llm",
  path: "/llm",
  loadBalanced: true,
  accessGroups: ["users"],
});

// Proves the deployed router routes traffic; a new rollout (new image, new spec) re-runs it.
const test = new appgw.RouterTest(
  "router-test",
  {
    router: routerName,
    queue: config.get("testQueue") ?? "gpu",
    timeoutSec: 300,
    triggers: [
      router.deployment.metadata.generation,
      router.deployment.spec.template.spec.containers[0].image,
    ],
  },
  { dependsOn: [router] },
);

export const routerUrl = router.url;
export const llmUrl = llm.routeUrl;
export const routerTest = { status: test.status, runTimeSec: test.runTimeSec };

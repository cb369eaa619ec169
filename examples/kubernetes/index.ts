// A router on Kubernetes (the reference router, or ClearML's two containers) logging in as a
// service account of its own, its routes, and a router test that re-runs whenever the router's
// deployment changes.
import * as pulumi from "@pulumi/pulumi";
import * as appgw from "@appgw/pulumi";

const config = new pulumi.Config();
const appgwConfig = new pulumi.Config("appgw");
const routerName = config.get("routerName") ?? "k8s-router";
const host = config.require("host");

// The router's identity. ClearML returns the secret key once, when the account is created: it
// lives only in this stack's state, as a secret, and in the Kubernetes Secret the pods read.
// Deleting the stack deletes the account, and any change of it replaces the account and rolls
// the router onto the new keys.
const routerAccount = new appgw.ServiceAccount("router-account", {
  name: config.get("serviceAccountName") ?? `appgw-${routerName}`,
});

const router = new appgw.RouterDeployment("router", {
  namespace: config.get("namespace") ?? "appgw",
  routerName,
  flavour: (config.get("flavour") as "reference" | "clearml" | undefined) ?? "reference",
  externalUrl: `https://${host}`,
  // The router reaches the control API from inside the cluster; often not the URL you use here.
  apiHost: config.get("routerApiHost") ?? appgwConfig.require("apiHost"),
  serviceAccount: routerAccount,
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
export const llmUrls = llm.urls;
export const routerServiceAccount = routerAccount.name;
export const routerTest = { status: test.status, runTimeSec: test.runTimeSec };

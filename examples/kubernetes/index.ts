// A router on Kubernetes (the reference router, or ClearML's two containers) logging in as a
// service account of its own, its routes, and a router test that re-runs whenever the router's
// deployment changes.
import * as pulumi from "@pulumi/pulumi";
import * as appgw from "@appgw/pulumi";

const config = new pulumi.Config();
const appgwConfig = new pulumi.Config("appgw");
const routerName = config.get("routerName") ?? "k8s-router";
const host = config.require("host");
const flavour = config.get("flavour", { allowedValues: ["reference", "clearml"] }) ?? "reference";
// No image of the reference router is published: build one from this repository with
// gateway/Dockerfile and push it where the cluster pulls from (README). For flavour clearml it
// is optional and replaces ClearML's router image. Checked here, before anything is created, so
// the error names this stack's setting rather than RouterDeployment's `images.router`.
const routerImage = config.get("routerImage");
if (routerImage === undefined && flavour === "reference") {
  throw new pulumi.RunError(
    `Missing required configuration variable '${config.name}:routerImage': the reference ` +
      "router's image. Build it at the repository's root with `docker build -f gateway/Dockerfile " +
      "-t <registry>/appgw-gateway:<version> .`, push it where the cluster pulls from, then " +
      "`pulumi config set routerImage <registry>/appgw-gateway:<version>`.",
  );
}

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
  flavour,
  images: routerImage !== undefined ? { router: routerImage } : undefined,
  externalUrl: `https://${host}`,
  // The router reaches the control API from inside the cluster; often not the URL you use here.
  apiHost: config.get("routerApiHost") ?? appgwConfig.require("apiHost"),
  serviceAccount: routerAccount,
  listenQueues: config.getObject<string[]>("listenQueues") ?? ["gpu"],
  // Subdomain routes (`<route>.<host>`); ClearML's router does not read ROUTER_DOMAIN.
  domain: flavour === "reference" ? host : undefined,
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

// One program, one stack per environment: `dev` and `prod` differ only by stack config
// (Pulumi.dev.yaml, Pulumi.prod.yaml). Every object is named after the stack, so several
// environments share one gateway without touching each other's objects.
import * as pulumi from "@pulumi/pulumi";
import * as appgw from "@appgw/pulumi";

const env = pulumi.getStack();
const config = new pulumi.Config();
const pathPrefix = config.get("pathPrefix") ?? `/${env}`;
const loadBalanced = config.getBoolean("loadBalanced") ?? false;
const notebooksPublic = config.getBoolean("notebooksPublic") ?? false;

const team = new appgw.Group("team", {
  name: `${env}-ml-team`,
  description: `ML team (${env})`,
  members: config.getObject<string[]>("teamMembers") ?? [],
});

const llm = new appgw.StaticRoute("llm", {
  name: `${env}-llm`,
  path: `${pathPrefix}/llm`,
  loadBalanced,
  accessGroups: [team.id, "admins"],
});

const notebooks = new appgw.StaticRoute("notebooks", {
  name: `${env}-notebooks`,
  subdomain: `${env}-notebooks`,
  authenticated: !notebooksPublic,
});

// Only where a router and a queue are named: prod proves its router on every deployment.
const routerName = config.get("routerName");
const test = routerName
  ? new appgw.RouterTest("router-test", {
      router: routerName,
      queue: config.require("testQueue"),
      triggers: [config.get("routerVersion") ?? ""],
    })
  : undefined;

export const llmUrls = llm.urls;
export const notebooksUrls = notebooks.urls;
export const teamGroupId = team.id;
export const routerTestStatus = test?.status;

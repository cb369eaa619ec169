// Routes, a group, group access and a router test against the embedded gateway
// (`npm start`, or `npm run demo`, which runs this program for you).
import * as pulumi from "@pulumi/pulumi";
import * as appgw from "@appgw/pulumi";

const config = new pulumi.Config();
const routerName = config.get("routerName") ?? "router-1";
const testQueue = config.get("testQueue") ?? "default";
const llmPath = config.get("llmPath") ?? "/llm";

// Who may use the model server: the ML team and the gateway's administrators.
const team = new appgw.Group("ml-team", {
  name: "ml-team",
  description: "Data scientists using the shared model server",
  members: config.getObject<string[]>("teamMembers") ?? [],
});

// A load-balanced path route for a model server; sessions stick to one replica.
const llm = new appgw.StaticRoute("llm", {
  name: "llm",
  path: llmPath,
  loadBalanced: true,
  accessGroups: [team.id, "admins"],
});

// Notebooks on their own subdomain (notebooks.localhost works in a local browser);
// access granted to the team by a separate GroupAccess.
const notebooks = new appgw.StaticRoute("notebooks", { name: "notebooks", subdomain: "notebooks" });
new appgw.GroupAccess("ml-team-notebooks", { group: team.id, routes: [notebooks.id] });

// A public status page: no sign-in.
const status = new appgw.StaticRoute("status", {
  name: "status",
  path: "/status",
  authenticated: false,
});

// Proves the router works end to end; `pulumi up` fails if it does not.
const test = new appgw.RouterTest("router-test", {
  router: routerName,
  queue: testQueue,
  timeoutSec: 60,
  triggers: [llmPath],
});

export const routes = {
  llm: { urls: llm.urls, status: llm.status, access: llm.access },
  notebooks: { urls: notebooks.urls, status: notebooks.status, access: notebooks.access },
  status: { urls: status.urls, status: status.status, access: status.access },
};
export const teamGroupId = team.id;
export const routerTest = {
  status: test.status,
  message: test.statusMessage,
  runTimeSec: test.runTimeSec,
  worker: test.worker,
  endpoint: test.endpoint,
};

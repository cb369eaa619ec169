// Every action of the contract, by service. The type makes a missing handler a compile error.
import type { ActionName } from "@appgw/sdk/contract";
import { appgw } from "./appgw";
import { auth, users } from "./auth";
import { permissions } from "./permissions";
import { routers } from "./routers";
import { events, projects, queues, tasks, workers } from "./tasks";
import type { Handler } from "./types";
import { server } from "./server";

export type { Ctx, Principal, Settings } from "./types";
export { isAdmin } from "./types";

export const handlers: { [A in ActionName]: Handler<A> } = {
  ...auth,
  ...users,
  ...permissions,
  ...routers,
  ...projects,
  ...queues,
  ...workers,
  ...tasks,
  ...events,
  ...server,
  ...appgw,
};

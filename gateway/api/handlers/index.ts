// Every action of the contract, by service. The type makes a missing handler a compile error.
import type { ActionName } from "../../../sdk/contract";
import { auth, users } from "./auth";
import { permissions } from "./permissions";
import { routers } from "./routers";
import { events, queues, tasks, workers } from "./tasks";
import type { Handler } from "./types";

export type { Ctx, Principal } from "./types";

export const handlers: { [A in ActionName]: Handler<A> } = {
  ...auth,
  ...users,
  ...permissions,
  ...routers,
  ...tasks,
  ...events,
  ...queues,
  ...workers,
};

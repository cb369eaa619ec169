// What a route table means to the control plane: the `status` of `routers.task_router_report`
// (every static route of the configuration with the tasks it routes to, empty ones too, and
// every task routed) and the endpoints to write back onto the tasks as runtime properties.
import { RUNTIME, type ActionRequest } from "@appgw/sdk/contract";
import { compare, type RouteTable } from "./table";

type Status = NonNullable<ActionRequest<"routers.task_router_report">["status"]>;
export type RouteReport = NonNullable<Status["routes"]>[number];

export interface TableReport {
  /** By route name: `status.routes`. */
  routes: RouteReport[];
  /** Ids of every task routed (HTTP or TCP): `status.tasks`. */
  tasks: string[];
  /** By task id: the `endpoint` and `browser_endpoint` properties (suffixed) it should carry. */
  endpoints: Record<string, Record<string, string>>;
}

export interface TcpEndpoint {
  task: string;
  endpointName: string | null;
  /** `tcp://<address>:<port>`. */
  endpoint: string;
}

/** ClearML's suffix rule: the default endpoint's keys are bare, others end in `__<name>`. */
export function endpointKeys(endpointName: string | null): {
  endpoint: string;
  browserEndpoint: string;
} {
  const suffix = endpointName === null ? "" : `__${endpointName}`;
  return {
    endpoint: RUNTIME.endpoint + suffix,
    browserEndpoint: RUNTIME.browserEndpoint + suffix,
  };
}

/** True for the runtime keys routers own: `endpoint` and `browser_endpoint`, suffixed or not. */
export function isEndpointKey(key: string): boolean {
  return [RUNTIME.endpoint, RUNTIME.browserEndpoint].some(
    (k) => key === k || key.startsWith(`${k}__`),
  );
}

/** The report of a table; sorted, so equal tables give equal reports. */
export function buildReport(table: RouteTable, tcp: readonly TcpEndpoint[]): TableReport {
  const routes: RouteReport[] = [];
  const tasks = new Set<string>();
  const endpoints: TableReport["endpoints"] = {};
  const attach = (task: string, endpointName: string | null, url: string) => {
    tasks.add(task);
    const keys = endpointKeys(endpointName);
    // Browsers authenticate with the cookie on the same URL, so both endpoints are the same.
    endpoints[task] = { ...endpoints[task], [keys.endpoint]: url, [keys.browserEndpoint]: url };
  };
  for (const route of table.routes) {
    if (route.kind !== "service") {
      routes.push({
        name: route.name,
        url: route.url,
        tasks: route.targets.map((t) => ({ id: t.task, upstream_server: t.hostPort })),
      });
    }
    for (const t of route.targets) attach(t.task, t.endpointName, route.url);
  }
  for (const t of tcp) attach(t.task, t.endpointName, t.endpoint);
  routes.sort((a, b) => compare(a.name, b.name));
  return { routes, tasks: [...tasks].sort(compare), endpoints };
}

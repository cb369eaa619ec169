// What the router tells the control plane after a table swap (`routers.report`): every static
// route of the configuration with its targets (empty ones too, so the control plane can tell
// Pending from Routing), and the endpoint of every task it routes.
import type { ActionRequest } from "../../sdk/contract";
import { compare, type RouteTable } from "./table";

export type RouterReport = Omit<ActionRequest<"routers.report">, "router">;

export interface TcpEndpoint {
  task: string;
  endpointName: string | null;
  /** `tcp://<address>:<port>`. */
  endpoint: string;
}

/** The report of a table; sorted, so equal tables give equal reports. */
export function buildReport(table: RouteTable, tcp: readonly TcpEndpoint[]): RouterReport {
  const routes: RouterReport["routes"] = [];
  const endpoints: RouterReport["endpoints"] = [];
  for (const route of table.routes) {
    if (route.kind !== "service") {
      routes.push({
        route: route.id,
        targets: route.targets.map((t) => t.hostPort),
        tasks: [...new Set(route.targets.map((t) => t.task))],
      });
    }
    // Browsers authenticate with the cookie on the same URL, so both endpoints are the same.
    for (const t of route.targets) {
      endpoints.push({
        task: t.task,
        endpoint_name: t.endpointName,
        endpoint: route.url,
        browser_endpoint: route.url,
      });
    }
  }
  for (const t of tcp) {
    endpoints.push({
      task: t.task,
      endpoint_name: t.endpointName,
      endpoint: t.endpoint,
      browser_endpoint: t.endpoint,
    });
  }
  routes.sort((a, b) => compare(a.route, b.route));
  endpoints.sort(
    (a, b) => compare(a.task, b.task) || compare(a.endpoint_name ?? "", b.endpoint_name ?? ""),
  );
  return { routes, endpoints };
}

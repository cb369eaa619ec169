// Builders for route and service configurations as `appgw.get_router_config` returns them.
import type { RouteConfig, ServiceConfig } from "../../sdk/contract";

export function routeConfig(
  over: Partial<RouteConfig> & { id: string; name: string },
): RouteConfig {
  return {
    path: null,
    subdomain: null,
    load_balancer: { enabled: false },
    auth_enabled: true,
    restricted: false,
    groups: [],
    users: [],
    ...over,
  };
}

export function service(over: Partial<ServiceConfig> & { task: string }): ServiceConfig {
  return {
    task_name: `task ${over.task}`,
    owner: { id: "u1", name: "alice" },
    endpoint_name: null,
    protocol: "http",
    address: "10.0.0.1",
    port: 8000,
    static_route: null,
    created: "2026-11-28T10:00:00.000Z",
    ...over,
  };
}

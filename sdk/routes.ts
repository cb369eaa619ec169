import type { ActionRequest, Route } from "./contract";
import type { Core } from "./core";
import { appgwError } from "./errors";

/** Static routes (`routers.*_route`). */
export class RoutesApi {
  constructor(private readonly core: Core) {}

  create(body: ActionRequest<"routers.create_route">): Promise<{ id: string }> {
    return this.core.call("routers.create_route", body);
  }
  /** Refused with APPGW_ROUTE_ENABLED while the route is enabled. */
  async update(body: ActionRequest<"routers.update_route">): Promise<void> {
    await this.core.call("routers.update_route", body);
  }
  async enable(route: string): Promise<void> {
    await this.core.call("routers.enable_route", { route });
  }
  async disable(route: string): Promise<void> {
    await this.core.call("routers.disable_route", { route });
  }
  async delete(route: string): Promise<void> {
    await this.core.call("routers.delete_route", { route });
  }
  async list(filter: ActionRequest<"routers.get_routes"> = {}): Promise<Route[]> {
    return (await this.core.call("routers.get_routes", filter)).routes;
  }
  /** The route with this id; throws APPGW_ROUTE_NOT_FOUND. */
  async get(id: string): Promise<Route> {
    const [found] = await this.list({ id: [id] });
    if (!found)
      throw appgwError("APPGW_ROUTE_NOT_FOUND", `route ${id} not found`, { field: "route" });
    return found;
  }
  /** The route with exactly this name, or undefined. */
  async findByName(name: string): Promise<Route | undefined> {
    return (await this.list({ name: `^${escapeRegex(name)}$` }))[0];
  }
}

export function escapeRegex(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

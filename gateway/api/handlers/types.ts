import type { IncomingHttpHeaders } from "node:http";
import type { ActionName, ActionResponse, ParsedRequest } from "@appgw/sdk/contract";
import type { Role, Store } from "../../store";
import type { TokenService } from "../tokens";

/** Who is calling. Service accounts have the admin role. */
export interface Principal {
  id: string;
  name: string;
  role: Role;
  service: boolean;
  /** Expiry (epoch seconds) of the token the call came with; absent for a Basic login. */
  tokenExp?: number;
}

export interface Settings {
  /** Lifetime of a token from `auth.login`, and the most `expiration_sec` may ask for. */
  tokenTtlSec: number;
}

export interface Ctx {
  user: Principal;
  store: Store;
  tokens: TokenService;
  settings: Settings;
  /** Aborted when the client goes away or the gateway shuts down: long polls stop waiting. */
  signal: AbortSignal;
  /**
   * The request's headers (lower-case names), for the few handlers that read one beside the body
   * (`X-Appgw-Managed-By` of `routers.add_or_update_route`).
   */
  headers: IncomingHttpHeaders;
}

export type Handler<A extends ActionName> = (
  body: ParsedRequest<A>,
  ctx: Ctx,
) => ActionResponse<A> | Promise<ActionResponse<A>>;

export type Handlers<S extends string> = {
  [A in ActionName as A extends `${S}.${string}` ? A : never]: Handler<A>;
};

export const isAdmin = (p: Principal): boolean => p.role === "admin";

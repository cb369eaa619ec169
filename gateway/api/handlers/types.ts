import type { ActionName, ActionResponse, ParsedRequest } from "../../../sdk/contract";
import type { Store } from "../../store";
import type { TestRunner } from "../router-test";
import type { TokenService } from "../tokens";

/** Who is calling. */
export interface Principal {
  id: string;
  name: string;
  admin: boolean;
}

export interface Ctx {
  user: Principal;
  store: Store;
  tokens: TokenService;
  tests: TestRunner;
  settings: { tokenTtlSec: number; allowInsecureTests: boolean };
  /** Aborted when the client goes away: long polls stop waiting. */
  signal: AbortSignal;
}

export type Handler<A extends ActionName> = (
  body: ParsedRequest<A>,
  ctx: Ctx,
) => ActionResponse<A> | Promise<ActionResponse<A>>;

export type Handlers<S extends string> = {
  [A in ActionName as A extends `${S}.${string}` ? A : never]: Handler<A>;
};

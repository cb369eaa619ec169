import { API_VERSION, APPGW_VERSION, SERVER_VERSION } from "../version";
import type { Handlers } from "./types";

export const server: Handlers<"server"> = {
  "server.info": () => ({
    version: SERVER_VERSION,
    build: "appgw",
    commit: "",
    api_version: API_VERSION,
    appgw_version: APPGW_VERSION,
  }),
};

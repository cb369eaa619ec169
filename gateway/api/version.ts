// What `server.info` and the envelope report. The SDK checks `version` >= 3.26 before using
// static routes, so the reference gateway reports the ClearML server release whose API it
// implements; its own release is `appgw_version`.

/** The highest API version served; `/v<major>.<minor>/` prefixes above it are unknown. */
export const API_VERSION = "2.31";
export const SERVER_VERSION = "3.26.0";
export { APPGW_VERSION } from "../release";

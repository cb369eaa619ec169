// The reference gateway's tokens, as its control API signs them and its routers verify them.
// Server policy, not part of ClearML's contract: a ClearML client only carries the token.
/** Tokens: ES256 JWTs from `auth.login`, verified by routers against the published key set. */
export const TOKENS = {
  issuer: "appgw",
  audience: "appgw",
  algorithm: "ES256",
  /** GET, unauthenticated, on the control API. */
  jwksPath: "/.well-known/jwks.json",
  /**
   * The settings page's session cookie (gateway/console). Browsers send a host's cookies to
   * every port of it, so routers on the same host drop it from requests and refuse it from apps.
   */
  consoleCookie: "appgw_console",
} as const;

// What browser-facing pages (the router's login page, the settings page) check so that another
// site cannot act through a person's cookies: where a request came from, and where a person may
// be sent after signing in.
import type { IncomingHttpHeaders } from "node:http";

/**
 * Where a request came from, as browsers tell it: `Origin` against `proto://host`, else
 * `Sec-Fetch-Site`. Browsers send `Origin` with every method but GET and HEAD, and on WebSocket
 * handshakes; where they leave it out, `Sec-Fetch-Site` still says. `unsaid`: neither header, so
 * not a browser (or one too old for either), which carries no ambient credentials of a victim's.
 * `proto` and `host` are the page's own origin as the server knows it: the router's is its
 * `ROUTER_URL` scheme and the Host header; the settings page's, its listener's protocol and the
 * Host header, or what a proxy in APPGW_TRUSTED_PROXIES forwarded. Never a client's
 * `X-Forwarded-*`, which would let a request name the origin it is compared with.
 */
export function requestSite(
  headers: IncomingHttpHeaders,
  proto: string,
  host: string | undefined = headers.host,
): "same-origin" | "cross-origin" | "unsaid" {
  const origin = headers.origin;
  if (origin === undefined) {
    const site = headers["sec-fetch-site"];
    if (site === undefined) return "unsaid";
    return site === "same-origin" || site === "none" ? "same-origin" : "cross-origin";
  }
  if (host === undefined) return "cross-origin";
  try {
    // Browsers send the serialised origin: lower case, without a default port.
    return origin === new URL(`${proto}://${host}`).origin ? "same-origin" : "cross-origin";
  } catch {
    return "cross-origin";
  }
}

/**
 * Where to send a person after signing in: only a relative path starting with a single `/`, and
 * under `base`, else `base`. `//evil.example` and `/\evil.example` are protocol-relative URLs to
 * browsers (which also turn `\` into `/` and drop tabs and newlines), so backslashes and control
 * characters are refused.
 */
export function safeNext(next: string | null | undefined, base = "/"): string {
  if (!next || !/^\/(?![/\\])[\x21-\x7e]*$/.test(next) || next.includes("\\")) return base;
  return next.startsWith(base) ? next : base;
}

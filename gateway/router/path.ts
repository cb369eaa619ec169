// Request-target normalisation: the one place a raw `req.url` is parsed. Prefix routing in Envoy,
// Traefik, Caddy and http-proxy-middleware was bypassed through `..`, `%2e%2e`, `%2f`, `%5c`,
// backslashes and Tomcat's `..;` (public advisories of each; docs/security.md). The router matches routes
// on the path this returns and forwards exactly that path, so the route check and the target
// always see the same thing.
//
// Canonical form (RFC 3986 section 6.2.2): percent-encoded unreserved characters are decoded,
// other escapes keep upper-case hex, characters not allowed in a path segment are encoded,
// `.`/`..` segments are resolved, empty segments (`//`) are dropped, a trailing `/` is kept.

export type NormalizedTarget =
  | { ok: true; /** Canonical path. */ path: string; /** `?...` or "". */ query: string }
  | { ok: false; reason: string };

// Character classes of ASCII code points inside a path segment.
const FORBIDDEN = 0; // control characters, space, backslash: refused
const LITERAL = 1; // pchar: unreserved, sub-delims, ':' and '@'
const ENCODE = 2; // allowed by Node's parser but not in a canonical path: percent-encoded
const UNRESERVED = 3; // decoded when they arrive percent-encoded

const CLASS = new Uint8Array(128).fill(FORBIDDEN);
for (let c = 0x21; c < 0x7f; c++) CLASS[c] = ENCODE;
for (const c of "!$&'()*+,;=:@") CLASS[c.charCodeAt(0)] = LITERAL;
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~") {
  CLASS[c.charCodeAt(0)] = UNRESERVED;
}
CLASS[0x5c] = FORBIDDEN; // '\': some servers treat it as '/'

const HEX = "0123456789ABCDEF";

/**
 * Paths that are already canonical: segments of pchars that do not start with '.', no '%', no
 * empty segment. Most real traffic takes this branch and skips the character loop.
 */
const CANONICAL = /^(?:\/[A-Za-z0-9_~!$&'()*+,;=:@-][A-Za-z0-9._~!$&'()*+,;=:@-]*)*\/?$/;

/** A dot segment carrying a `;` parameter (`..;`, `.;x`): Tomcat resolves it as `..`. */
const DOT_WITH_PARAMS = /^\.\.?(?:;|%3B)/;

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

function escapeByte(byte: number): string {
  return "%" + HEX[byte >> 4] + HEX[byte & 15];
}

/** The canonical form of one raw segment, or an error reason. */
function canonicalSegment(raw: string): { seg: string } | { reason: string } {
  let out = "";
  for (let i = 0; i < raw.length; i++) {
    const code = raw.charCodeAt(i);
    if (code === 0x25 /* % */) {
      const hi = hexValue(raw.charCodeAt(i + 1));
      const lo = hexValue(raw.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) return { reason: "malformed percent-encoding" };
      const byte = hi * 16 + lo;
      if (byte === 0) return { reason: "encoded NUL" };
      if (byte === 0x2f || byte === 0x5c) return { reason: "encoded '/' or '\\'" };
      out +=
        byte < 128 && CLASS[byte] === UNRESERVED ? String.fromCharCode(byte) : escapeByte(byte);
      i += 2;
    } else if (code >= 128) {
      // Node decodes the request line as latin1, so each char is one raw byte.
      if (code > 0xff) return { reason: "non-byte character" };
      out += escapeByte(code);
    } else {
      const cls = CLASS[code];
      if (cls === FORBIDDEN) return { reason: code === 0x5c ? "backslash" : "control character" };
      out += cls === ENCODE ? escapeByte(code) : raw[i];
    }
  }
  return { seg: out };
}

/** Parses and normalises a raw origin-form request target (`req.url`). */
export function normalizeRequestTarget(target: string): NormalizedTarget {
  // Absolute-form (`http://host/x`), authority-form and `*` are refused: routing must not depend
  // on a host named in the request line.
  if (target.charCodeAt(0) !== 0x2f /* / */)
    return { ok: false, reason: "not an origin-form target" };
  if (target.includes("#")) return { ok: false, reason: "fragment in request target" };
  const q = target.indexOf("?");
  const rawPath = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? "" : target.slice(q);
  if (query.includes("\0")) return { ok: false, reason: "NUL in query" };
  if (CANONICAL.test(rawPath)) return { ok: true, path: rawPath, query };

  const raw = rawPath.split("/");
  const out: string[] = [];
  let trailingSlash = false;
  for (let i = 1; i < raw.length; i++) {
    const result = canonicalSegment(raw[i]!);
    if ("reason" in result) return { ok: false, reason: result.reason };
    const seg = result.seg;
    if (seg === "") {
      if (i === raw.length - 1) trailingSlash = true;
    } else if (seg === ".") {
      trailingSlash = true;
    } else if (seg === "..") {
      if (out.length === 0) return { ok: false, reason: "'..' above the root" };
      out.pop();
      trailingSlash = true;
    } else if (DOT_WITH_PARAMS.test(seg)) {
      return { ok: false, reason: "dot segment with ';' parameters" };
    } else {
      out.push(seg);
      trailingSlash = false;
    }
  }
  if (out.length === 0) return { ok: true, path: "/", query };
  return { ok: true, path: "/" + out.join("/") + (trailingSlash ? "/" : ""), query };
}

/**
 * Encodes one path segment (a task id, an endpoint name) in the canonical form above, so a
 * route prefix built from it matches the normalised request path.
 */
export function encodeSegment(value: string): string {
  let out = "";
  for (const byte of Buffer.from(value, "utf8")) {
    const cls = byte < 128 ? CLASS[byte] : ENCODE;
    out += cls === UNRESERVED || cls === LITERAL ? String.fromCharCode(byte) : escapeByte(byte);
  }
  return out;
}

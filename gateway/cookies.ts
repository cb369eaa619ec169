// The few cookie operations the router and the settings page need, without a general-purpose
// parser on the router's hot path.

/** The value of cookie `name` in a `Cookie` header, or undefined. */
export function getCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined || !header.includes(name)) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq !== -1 && part.slice(0, eq).trim() === name) return unquote(part.slice(eq + 1).trim());
  }
  return undefined;
}

/**
 * Every value of cookie `name` in a `Cookie` header, in its order. Browsers send one name more
 * than once when cookies of different paths or domains share it: a value another page of the
 * host planted may come first.
 */
export function getCookies(header: string | undefined, name: string): string[] {
  if (header === undefined || !header.includes(name)) return [];
  const values: string[] = [];
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq !== -1 && part.slice(0, eq).trim() === name)
      values.push(unquote(part.slice(eq + 1).trim()));
  }
  return values;
}

const unquote = (value: string): string =>
  value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;

/** The `Cookie` header without the cookies `drop` selects; undefined when none is left. */
export function removeCookies(header: string, drop: (name: string) => boolean): string | undefined {
  const kept = header
    .split(";")
    .map((part) => part.trim())
    .filter((part) => {
      if (part === "") return false;
      const eq = part.indexOf("=");
      return !drop((eq === -1 ? part : part.slice(0, eq)).trim());
    });
  return kept.length > 0 ? kept.join("; ") : undefined;
}

/**
 * The name of the cookie a `Set-Cookie` value sets, parsed as browsers parse it (RFC 6265bis
 * section 5.6): the name-value pair ends at the first ';' and the name at its first '='; a pair
 * without '=' is a nameless cookie whose value is the whole pair. "" for a nameless cookie.
 * Trimmed with `trim()`, which removes what browsers remove (spaces, tabs) and what `getCookie`
 * removes, so a name either of them reads as the router's own is seen here as that name.
 */
export function setCookieName(value: string): string {
  const semi = value.indexOf(";");
  const pair = semi === -1 ? value : value.slice(0, semi);
  const eq = pair.indexOf("=");
  return eq === -1 ? "" : pair.slice(0, eq).trim();
}

export interface CookieOptions {
  path: string;
  secure: boolean;
  /** Seconds; omitted for a session cookie. */
  maxAge?: number;
  /** Default `Lax`: the router's cookies must come along when a person follows a link to an app. */
  sameSite?: "Lax" | "Strict";
}

/** A `Set-Cookie` value with the attributes every cookie of the gateway carries. */
export function serializeCookie(name: string, value: string, opts: CookieOptions): string {
  let cookie = `${name}=${value}; Path=${opts.path}; HttpOnly; SameSite=${opts.sameSite ?? "Lax"}`;
  if (opts.maxAge !== undefined) cookie += `; Max-Age=${Math.max(0, Math.floor(opts.maxAge))}`;
  if (opts.secure) cookie += "; Secure";
  return cookie;
}

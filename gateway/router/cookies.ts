// The few cookie operations the router needs, without a general-purpose parser on the hot path.

/** The value of cookie `name` in a `Cookie` header, or undefined. */
export function getCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined || !header.includes(name)) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq !== -1 && part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      return value.length >= 2 && value.startsWith('"') && value.endsWith('"')
        ? value.slice(1, -1)
        : value;
    }
  }
  return undefined;
}

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

/** The name of the cookie a `Set-Cookie` value sets. */
export function setCookieName(value: string): string {
  const eq = value.indexOf("=");
  const semi = value.indexOf(";");
  const end = eq === -1 || (semi !== -1 && semi < eq) ? (semi === -1 ? value.length : semi) : eq;
  return value.slice(0, end).trim();
}

export interface CookieOptions {
  path: string;
  secure: boolean;
  /** Seconds; omitted for a session cookie. */
  maxAge?: number;
}

/** A `Set-Cookie` value with the attributes every cookie of the router carries. */
export function serializeCookie(name: string, value: string, opts: CookieOptions): string {
  let cookie = `${name}=${value}; Path=${opts.path}; HttpOnly; SameSite=Lax`;
  if (opts.maxAge !== undefined) cookie += `; Max-Age=${Math.max(0, Math.floor(opts.maxAge))}`;
  if (opts.secure) cookie += "; Secure";
  return cookie;
}

// The settings page over plain HTTP, as a browser without JavaScript uses it: a session cookie,
// form posts from the page's own origin, redirects not followed.
import assert from "node:assert/strict";
import { request } from "undici";
import { setCookies, type Reply } from "../helpers/dataplane";
import type { TestGateway } from "../helpers/gateway";

/** A reply of the page: a redirect's target beside the status, headers and text. */
export interface PageReply extends Reply {
  location?: string;
}

/** A request to `base` (the gateway's API, or a proxy in front of it). */
async function send(
  base: string,
  path: string,
  opts: {
    method?: "GET" | "POST";
    cookie?: string;
    form?: Record<string, string | string[]>;
    /** A body that is not a form: JSON. */
    json?: unknown;
    headers?: Record<string, string>;
  } = {},
): Promise<PageReply> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.cookie) headers.cookie = opts.cookie;
  let body: string | undefined;
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers["content-type"] = "application/json";
  } else if (opts.form) {
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.form))
      for (const one of [v].flat()) form.append(k, one);
    body = form.toString();
    headers["content-type"] = "application/x-www-form-urlencoded";
  }
  if (body !== undefined) {
    // A browser's post names its origin; a test may leave it out with `origin: ""`.
    if (!("origin" in headers)) headers.origin = base;
    if (headers.origin === "") delete headers.origin;
  }
  const res = await request(base + path, {
    method: opts.method ?? (body !== undefined ? "POST" : "GET"),
    headers,
    body,
  });
  const location = res.headers.location;
  return {
    status: res.statusCode,
    headers: res.headers,
    text: await res.body.text(),
    location: typeof location === "string" ? location : undefined,
  };
}

export const getPage = (
  t: TestGateway,
  path: string,
  cookie?: string,
  headers?: Record<string, string>,
) => send(t.apiUrl, path, { cookie, headers });

export const postForm = (
  t: TestGateway,
  path: string,
  cookie: string | undefined,
  form: Record<string, string | string[]>,
  headers?: Record<string, string>,
) => send(t.apiUrl, path, { cookie, form, headers });

/** A form posted to `base`, the gateway or a proxy in front of it: the page, or a router's. */
export const postFormTo = (
  base: string,
  path: string,
  form: Record<string, string | string[]>,
  headers: Record<string, string>,
) => send(base, path, { form, headers });

/** The `Cookie` header that carries the session a sign-in's answer set. */
export function sessionCookie(reply: PageReply): string {
  const setCookie = setCookies(reply.headers)[0];
  assert.ok(setCookie, "a session cookie");
  return setCookie.split(";")[0]!;
}

/** Signs in on the page and returns the `Cookie` header that carries the session. */
export async function signIn(
  t: TestGateway,
  creds: { accessKey: string; secretKey: string } = t.admin,
): Promise<string> {
  const res = await postForm(t, "/ui/login", undefined, {
    access_key: creds.accessKey,
    secret_key: creds.secretKey,
    next: "/ui/",
  });
  assert.equal(res.status, 303, res.text);
  return sessionCookie(res);
}

/** A same-origin POST whose body is JSON, not a form. */
export const postJson = (t: TestGateway, path: string, cookie: string, json: unknown) =>
  send(t.apiUrl, path, { cookie, json });

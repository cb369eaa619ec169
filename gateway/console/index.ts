// The App Gateway settings page (the product page's Routers, router tests and Static Routes),
// served by the control API under /ui. Every read and write goes through the API with the SDK
// (client.ts) as the signed-in administrator: the page keeps no data and has no privilege of its
// own. Its session is the API token in an HttpOnly, SameSite=Strict cookie; every form post must
// also come from this origin. docs/console.md.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import {
  AppGatewayError,
  isSecureUrl,
  messageOf,
  runRouterTest,
  tokenExpiry,
  type ActionRequest,
  type Route,
  type Router,
  type RouterTestRecord,
} from "@appgw/sdk";
import type { ReferenceGatewayClient } from "@appgw/sdk/reference";
import { getCookies, serializeCookie } from "../cookies";
import { requestSite, safeNext } from "../same-origin";
import { TOKENS } from "../token-format";
import { clientFor } from "./client";
import {
  BASE,
  deletePage,
  disablePage,
  loginPage,
  messagePage,
  overviewPage,
  routeFormPage,
  routeFormValues,
  routeViewPage,
  taskPage,
  type Directory,
  type FormState,
  type Overview,
  type PageOptions,
  type RouteForm,
  type RouterPanel,
} from "./views";

export interface ConsoleOptions {
  /**
   * `APPGW_CONSOLE_INSECURE_TESTS`: let the page run router tests when it or the router is
   * served over plain HTTP outside loopback. ClearML tests only when both use HTTPS; loopback
   * counts as secure, as browsers count it.
   */
  insecureTests?: boolean;
}

/** A console session lasts a working day at most (the API may cap it lower). */
const SESSION_SEC = 8 * 3600;
/** Seconds a router test may take: the provider's RouterTest default. */
const TEST_TIMEOUT_SEC = 120;
/** Session cookies tried per request: a planted one may come before the real one. */
const MAX_SESSION_COOKIES = 3;
/** How long the live refresh waits for a change; below the API's request timeout. */
const WATCH_SEC = 20;
/** While a test runs its log grows without a revision: the page looks this often. */
const RUNNING_WATCH_SEC = 2;
const COOKIE = TOKENS.consoleCookie;

/** What a redirect after a change asks the next page to announce (never text from the URL). */
const DONE = ["created", "saved", "enabled", "disabled", "deleted"] as const;
type Done = (typeof DONE)[number];

const PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
};

type Req = FastifyRequest<{ Params: Record<string, string>; Querystring: Record<string, string> }>;

/** Thrown to end a request with a redirect to the sign-in page. */
class SignInNeeded extends Error {}

/** The form a post carried (an empty one for a post without a body). */
const formOf = (req: FastifyRequest): URLSearchParams =>
  (req.body as URLSearchParams | undefined) ?? new URLSearchParams();

/** Where the page's client says it is, and who is asking: for messages and login limits. */
const origin = (req: FastifyRequest) => ({
  remoteAddress: req.ip,
  apiHost: `${req.protocol}://${req.host}`,
});

/** The address of the overview after a change, saying what changed to which route. */
const doneUrl = (done: Done, route: string) =>
  `${BASE}/?done=${done}&route=${encodeURIComponent(route)}#static-routes`;

/** The sentence for `?done=&route=`: the route's name comes from the gateway, not the URL. */
function noticeOf(query: Record<string, string | undefined>, routes: Route[]): string | undefined {
  const done = DONE.find((d) => d === query.done);
  if (!done) return undefined;
  const route = routes.find((r) => r.id === query.route);
  return route ? `Route ${route.name} ${done}.` : `Route ${done}.`;
}

function assetsDir(): string {
  // Sources run from gateway/console; the build from gateway/dist/console, beside the sources.
  const candidates = [
    path.join(__dirname, "assets"),
    path.join(__dirname, "..", "..", "console", "assets"),
  ];
  return candidates.find((dir) => existsSync(path.join(dir, "console.css"))) ?? candidates[0]!;
}

/** A fastify plugin: `app.register(registerConsole, opts)` beside the API's routes. */
export async function registerConsole(ui: FastifyInstance, opts: ConsoleOptions): Promise<void> {
  const dir = assetsDir();
  const assets = new Map(
    [
      ["console.css", "text/css; charset=utf-8"],
      ["console.js", "text/javascript; charset=utf-8"],
      ["favicon.svg", "image/svg+xml"],
    ].map(([file, type]) => [file!, { type: type!, body: readFileSync(path.join(dir, file!)) }]),
  );
  const insecure = opts.insecureTests ?? false;
  /** Router tests this process started and has not seen end, by router. */
  const testing = new Set<string>();

  // Forms arrive urlencoded, and nothing else does: fastify answers any other body 415 (the API's
  // own parsers read every body as JSON). The plugin's own context keeps this to its routes.
  ui.removeAllContentTypeParsers();
  ui.addContentTypeParser(
    "application/x-www-form-urlencoded",
    { parseAs: "string", bodyLimit: 64 * 1024 },
    (_req, body, done) => done(null, new URLSearchParams(String(body))),
  );

  // The page's own origin is the listener's protocol and the Host header: fastify's `protocol`
  // and `host` read X-Forwarded-Proto/-Host instead only when the peer is in
  // APPGW_TRUSTED_PROXIES (trustProxy), so no other client can name the origin its post is
  // compared with.
  ui.addHook("onRequest", async (req, reply) => {
    if (
      req.method === "POST" &&
      requestSite(req.headers, req.protocol, req.host) !== "same-origin"
    ) {
      reply.code(403).headers(PAGE_HEADERS);
      return reply.send(
        messagePage(
          { title: "Refused" },
          "Refused",
          "This form must be sent from the settings page itself.",
        ),
      );
    }
  });

  ui.setErrorHandler((err, req, reply) => {
    if (err instanceof SignInNeeded) {
      // After signing in, a form's address would answer GET with a 404: the overview instead.
      const next = req.method === "GET" ? req.url : `${BASE}/`;
      return reply.redirect(`${BASE}/login?next=${encodeURIComponent(next)}`, 303);
    }
    const status = (err as { statusCode?: number }).statusCode;
    const code = status && status >= 400 && status < 500 ? status : 500;
    if (code === 500) req.log.error({ err }, "settings page failed");
    reply.code(code).headers(PAGE_HEADERS);
    return reply.send(
      messagePage(
        { title: "Error" },
        code === 500 ? "Something went wrong" : "Not possible",
        code === 500
          ? "The gateway could not answer this page; see its log."
          : code === 415
            ? "Send the page's forms as they are (a urlencoded form)."
            : reasonOf(err),
      ),
    );
  });

  const send = (reply: FastifyReply, body: string, status = 200) =>
    reply.code(status).headers(PAGE_HEADERS).send(body);

  /** The signed-in person: their client and name; SignInNeeded when there is no session. */
  async function session(req: FastifyRequest) {
    // Each value of the cookie in turn: an app on another port of this host may have planted
    // one (from script, which no router sees) that the browser sends first.
    for (const token of getCookies(req.headers.cookie, COOKIE).slice(0, MAX_SESSION_COOKIES)) {
      const client = clientFor(ui, origin(req), token);
      try {
        const me = await client.users.me();
        if (me.user.role !== "admin") continue;
        return { client, opts: (title: string): PageOptions => ({ title, user: me.user.name }) };
      } catch (err) {
        if (err instanceof AppGatewayError && (err.statusCode === 401 || err.statusCode === 403))
          continue;
        throw err;
      }
    }
    throw new SignInNeeded();
  }

  ui.get(`${BASE}/assets/:file`, async (req: Req, reply) => {
    const asset = assets.get(req.params.file ?? "");
    if (!asset) return reply.code(404).send("not found");
    return reply
      .header("content-type", asset.type)
      .header("cache-control", "no-cache")
      .send(asset.body);
  });

  ui.get("/", async (_req, reply) => reply.redirect(`${BASE}/`, 303));
  ui.get(BASE, async (_req, reply) => reply.redirect(`${BASE}/`, 303));

  // --- sign in and out ------------------------------------------------------------------------

  ui.get(`${BASE}/login`, async (req: Req, reply) =>
    send(reply, loginPage(safeNext(req.query.next, `${BASE}/`), "")),
  );

  ui.post(`${BASE}/login`, async (req, reply) => {
    const form = formOf(req);
    const accessKey = form.get("access_key") ?? "";
    const next = safeNext(form.get("next"), `${BASE}/`);
    const client = clientFor(ui, origin(req), undefined, {
      accessKey,
      secretKey: form.get("secret_key") ?? "",
    });
    let token: string;
    try {
      token = await client.shortLivedToken(SESSION_SEC);
      const me = await clientFor(ui, origin(req), token).users.me();
      if (me.user.role !== "admin") {
        return send(
          reply,
          loginPage(
            next,
            accessKey,
            `${me.user.name} is not an administrator: the App Gateway settings are for administrators.`,
          ),
          403,
        );
      }
    } catch (err) {
      if (!(err instanceof AppGatewayError) || err.statusCode >= 500) throw err;
      const message =
        err.statusCode === 429
          ? `Too many failed sign-ins. ${reasonOf(err)}`
          : "The access key or secret key is not right.";
      const retry = (err.details as { retry_after?: unknown }).retry_after;
      if (typeof retry === "number") reply.header("retry-after", String(retry));
      return send(reply, loginPage(next, accessKey, message), err.statusCode === 429 ? 429 : 401);
    }
    // The cookie lasts as long as the token the API gave, which may be shorter than asked.
    const expires = tokenExpiry(token);
    const maxAge = expires === undefined ? SESSION_SEC : (expires - Date.now()) / 1000;
    reply.header("set-cookie", sessionCookie(req, token, Math.min(SESSION_SEC, maxAge)));
    return reply.redirect(next, 303);
  });

  ui.post(`${BASE}/logout`, async (req, reply) => {
    reply.header("set-cookie", sessionCookie(req, "", 0));
    return reply.redirect(`${BASE}/login`, 303);
  });

  // --- reading -----------------------------------------------------------------------------------

  ui.get(`${BASE}/`, async (req: Req, reply) => {
    const s = await session(req);
    const overview = await readOverview(s.client);
    return send(
      reply,
      overviewPage(
        {
          ...s.opts("Application Gateway"),
          revision: overview.revision,
          notice: noticeOf(req.query, overview.routes),
        },
        overview,
      ),
    );
  });

  ui.get(`${BASE}/routers/:router`, async (req: Req, reply) => {
    const s = await session(req);
    const { overview, panel } = await readRouterPage(req, s.client, req.params.router!, insecure);
    return send(
      reply,
      overviewPage(
        {
          ...s.opts(`Router ${panel.router.router}`),
          revision: overview.revision,
          notice: noticeOf(req.query, overview.routes),
        },
        overview,
        panel,
      ),
    );
  });

  // Long poll for the live refresh: the API's own `appgw.watch`, the revision routers follow.
  ui.get(`${BASE}/watch`, async (req: Req, reply) => {
    const s = await session(req);
    const since = Number(req.query.since);
    const wait = req.query.running === "1" ? RUNNING_WATCH_SEC : WATCH_SEC;
    const revision = await s.client.watch(Number.isInteger(since) ? since : undefined, wait);
    return reply.header("cache-control", "no-store").send({ revision });
  });

  ui.get(`${BASE}/routes/:id`, async (req: Req, reply) => {
    const s = await session(req);
    const [route, directory] = await Promise.all([
      requireRoute(s.client, req.params.id!),
      readDirectory(s.client),
    ]);
    return send(reply, routeViewPage(s.opts(`Route ${route.name}`), route, directory));
  });

  ui.get(`${BASE}/tasks/:id`, async (req: Req, reply) => {
    const s = await session(req);
    const [task, log, users] = await Promise.all([
      s.client.tasks.get(req.params.id!),
      s.client.tasks.getLog(req.params.id!),
      s.client.users.list(),
    ]);
    return send(reply, taskPage(s.opts(`Task ${task.name || task.id}`), task, log, byId(users)));
  });

  // --- router tests --------------------------------------------------------------------------------

  ui.post(`${BASE}/routers/:router/test`, async (req: Req, reply) => {
    const s = await session(req);
    const name = req.params.router!;
    const queue = (formOf(req).get("queue") ?? "").trim();
    /** The router's page again, with the form as it was sent and why it was refused. */
    const refuse = async (message: string, field = "queue") => {
      const { overview, panel } = await readRouterPage(req, s.client, name, insecure);
      panel.form = {
        values: { queue },
        errors: field ? { [field]: message } : {},
        error: field ? undefined : message,
      };
      // No revision: this page answers a post, and its address is not one to fetch again.
      return send(reply, overviewPage(s.opts(`Router ${name}`), overview, panel), 400);
    };
    const [routers, [latest]] = await Promise.all([
      s.client.routers.list(),
      s.client.routerTests([name], { withLog: false }),
    ]);
    const blocked = httpsRule(req, routerNamed(routers, name).url, insecure);
    if (blocked) return refuse(blocked, "");
    if (!queue) return refuse("Enter the queue the test task should run on.");
    if (testing.has(name) || latest?.status === "running") {
      return refuse(`A test of router ${name} is running: wait for its verdict.`, "");
    }
    testing.add(name);
    // The runner writes the test onto its task as it goes; the page answers once that task
    // exists (or the runner stopped before making one), and the test runs on in the background.
    let created!: () => void;
    const taskCreated = new Promise<void>((resolve) => (created = resolve));
    const run = runRouterTest(s.client, {
      router: name,
      queue,
      timeoutSec: TEST_TIMEOUT_SEC,
      allowInsecure: insecure,
      // A token of the session's that lasts only the test: the router under test sees it.
      routerToken: (seconds) => s.client.shortToken(seconds),
      onTaskCreated: () => created(),
    })
      .catch((err: unknown) => {
        req.log.error({ err }, "router test failed to run");
        return undefined;
      })
      .finally(() => testing.delete(name));
    const result = await Promise.race([taskCreated.then(() => undefined), run]);
    // Stopped before its task was queued: nothing is on record, so the form says why. Only a
    // missing queue or agent is the queue field's fault.
    if (result && !result.taskId) {
      return refuse(result.statusMessage, result.statusReason === "no_agent" ? "queue" : "");
    }
    return reply.redirect(`${BASE}/routers/${encodeURIComponent(name)}#test`, 303);
  });

  // --- static routes -----------------------------------------------------------------------------------

  ui.get(`${BASE}/routes/new`, async (req, reply) => {
    const s = await session(req);
    const groups = await s.client.groups.list();
    const values: RouteForm = {
      name: "",
      type: "path",
      route: "",
      load_balanced: true,
      authenticated: true,
      groups: [],
    };
    return send(reply, routeFormPage(s.opts("Add New Route"), { values, errors: {} }, groups));
  });

  ui.post(`${BASE}/routes`, async (req, reply) => {
    const s = await session(req);
    return saveRoute(reply, s, formValues(formOf(req)));
  });

  ui.get(`${BASE}/routes/:id/edit`, async (req: Req, reply) => {
    const s = await session(req);
    const route = await requireRoute(s.client, req.params.id!);
    if (route.enabled)
      return send(reply, enabledRefusal(s.opts(`Route ${route.name}`), route), 409);
    const groups = await s.client.groups.list();
    return send(
      reply,
      routeFormPage(
        s.opts(`Edit ${route.name}`),
        { values: routeFormValues(route), errors: {} },
        groups,
        route,
      ),
    );
  });

  ui.post(`${BASE}/routes/:id`, async (req: Req, reply) => {
    const s = await session(req);
    const route = await requireRoute(s.client, req.params.id!);
    if (route.enabled)
      return send(reply, enabledRefusal(s.opts(`Route ${route.name}`), route), 409);
    return saveRoute(reply, s, formValues(formOf(req)), route);
  });

  ui.post(`${BASE}/routes/:id/enabled`, async (req: Req, reply) => {
    const s = await session(req);
    const form = formOf(req);
    const route = await requireRoute(s.client, req.params.id!);
    const enabled = form.get("enabled") === "true";
    try {
      await s.client.routes.setEnabled(route.id, enabled, form.get("force") === "true");
    } catch (err) {
      // ClearML documents no code for it: the reference gateway names its own in the error data.
      if (err instanceof AppGatewayError && err.details.code === "APPGW_ROUTE_ACTIVE") {
        return send(reply, disablePage(s.opts(`Disable ${route.name}`), route), 409);
      }
      throw err;
    }
    return reply.redirect(doneUrl(enabled ? "enabled" : "disabled", route.id), 303);
  });

  ui.get(`${BASE}/routes/:id/delete`, async (req: Req, reply) => {
    const s = await session(req);
    const route = await requireRoute(s.client, req.params.id!);
    return send(reply, deletePage(s.opts(`Delete ${route.name}`), route));
  });

  ui.post(`${BASE}/routes/:id/delete`, async (req: Req, reply) => {
    const s = await session(req);
    const route = await requireRoute(s.client, req.params.id!);
    // The confirmation said active connections stop: it stands for the API's `force`.
    await s.client.routes.delete([route.id], true);
    return reply.redirect(doneUrl("deleted", route.id), 303);
  });

  async function saveRoute(
    reply: FastifyReply,
    s: Awaited<ReturnType<typeof session>>,
    values: RouteForm,
    editing?: Route,
  ) {
    const local = formChecks(values);
    if (Object.keys(local).length > 0) {
      const groups = await s.client.groups.list();
      return send(
        reply,
        routeFormPage(
          s.opts(editing ? `Edit ${editing.name}` : "Add New Route"),
          { values, errors: local },
          groups,
          editing,
        ),
        400,
      );
    }
    const body = routeRequest(values, editing);
    let id: string;
    try {
      id = await s.client.routes.save(body);
    } catch (err) {
      if (!(err instanceof AppGatewayError) || err.statusCode >= 500) throw err;
      const groups = await s.client.groups.list();
      const form = formErrors(values, err);
      return send(
        reply,
        routeFormPage(
          s.opts(editing ? `Edit ${editing.name}` : "Add New Route"),
          form,
          groups,
          editing,
        ),
        400,
      );
    }
    return reply.redirect(doneUrl(editing ? "saved" : "created", id), 303);
  }
}

// --- reading through the API ---------------------------------------------------------------------------

/** Groups, users and access rules: to name what ids point at, and to say who may use a route. */
async function readDirectory(client: ReferenceGatewayClient): Promise<Directory> {
  const [groups, users, rules] = await Promise.all([
    client.groups.list(),
    client.users.list(),
    client.accessRules.list(),
  ]);
  return { groups: byId(groups), users: byId(users), rules };
}

async function readOverview(client: ReferenceGatewayClient): Promise<Overview> {
  // The revision first: a change after it wakes the live refresh even if these reads saw it.
  const revision = await client.watch(undefined, 0);
  const [routers, tests, routes, directory] = await Promise.all([
    client.routers.list(),
    // Status and time only: a log is read for the router whose panel is open.
    client.routerTests(undefined, { withLog: false }),
    client.routes.list(),
    readDirectory(client),
  ]);
  return {
    revision,
    routers,
    tests: new Map(tests.map((t): [string, RouterTestRecord] => [t.router, t])),
    routes,
    ...directory,
  };
}

/** The overview with router `name`'s panel open: its routed tasks, latest test (with its log), queues. */
async function readRouterPage(
  req: FastifyRequest,
  client: ReferenceGatewayClient,
  name: string,
  insecureTests: boolean,
): Promise<{ overview: Overview; panel: RouterPanel }> {
  const [overview, queues, [test]] = await Promise.all([
    readOverview(client),
    client.queues.list(),
    client.routerTests([name]),
  ]);
  const router = routerNamed(overview.routers, name);
  const ids = (router.tasks ?? [])
    .map((t) => t.id)
    .filter((id): id is string => typeof id === "string");
  const tasks = ids.length ? await client.tasks.list({ id: ids }) : [];
  return {
    overview,
    panel: {
      router,
      tasks,
      test,
      testBlocked: httpsRule(req, router.url, insecureTests),
      queues: queues.map((q) => q.name ?? q.id),
    },
  };
}

/** The online router of that name; a 404 page when there is none. */
function routerNamed(routers: Router[], name: string): Router {
  const router = routers.find((r) => r.router === name);
  if (!router) {
    throw Object.assign(new Error(`No router named ${name} is online.`), { statusCode: 404 });
  }
  return router;
}

async function requireRoute(client: ReferenceGatewayClient, id: string): Promise<Route> {
  const route = await client.routes.get(id);
  if (!route)
    throw Object.assign(new Error("No such route: it may have been deleted."), { statusCode: 404 });
  return route;
}

function byId<T extends { id: string }>(items: T[]): Map<string, T> {
  return new Map(items.map((i) => [i.id, i]));
}

// --- forms ---------------------------------------------------------------------------------------------------

function formValues(form: URLSearchParams): RouteForm {
  return {
    name: (form.get("name") ?? "").trim(),
    type: form.get("type") === "subdomain" ? "subdomain" : "path",
    route: (form.get("route") ?? "").trim(),
    load_balanced: !!form.get("load_balanced"),
    authenticated: !!form.get("authenticated"),
    groups: form.getAll("groups"),
  };
}

/**
 * What the form can tell before asking the API, every field at once and in a person's words:
 * the API reports one field per answer, in a validator's. Groups on a public route are refused
 * rather than dropped: a public route admits everyone, whatever groups it names.
 */
function formChecks(v: RouteForm): Record<string, string> {
  const errors: Record<string, string> = {};
  if (!v.name) errors.name = "Enter a name for the route.";
  if (!v.route)
    errors.route =
      v.type === "path"
        ? "Enter the route's path, such as /llm."
        : "Enter the route's subdomain, such as llm.";
  if (!v.authenticated && v.groups.length > 0)
    errors.groups =
      "A public route admits everyone: untick its groups, or tick Authenticated to admit only their members.";
  return errors;
}

function routeRequest(v: RouteForm, editing?: Route): ActionRequest<"routers.add_or_update_route"> {
  return {
    ...(editing ? { id: editing.id } : {}),
    name: v.name,
    type: v.type,
    ...(v.type === "path" ? { path: v.route } : { subdomain: v.route }),
    load_balancer: { enabled: v.load_balanced },
    auth_enabled: v.authenticated,
    user_groups: v.groups,
  };
}

/** The form's field for each field of the API's request. */
const FORM_FIELD: Record<string, string> = {
  name: "name",
  path: "route",
  subdomain: "route",
  type: "route",
  load_balancer: "load_balanced",
  "load_balancer.enabled": "load_balanced",
  auth_enabled: "authenticated",
  user_groups: "groups",
};

function formErrors(values: RouteForm, err: AppGatewayError): FormState<RouteForm> {
  const field = err.field === undefined ? undefined : FORM_FIELD[err.field];
  const message = reasonOf(err);
  return field ? { values, errors: { [field]: message } } : { values, errors: {}, error: message };
}

/** What a person reads of an error: the gateway's own words, without the action they came from. */
function reasonOf(err: unknown): string {
  const said = err instanceof AppGatewayError ? err.details.result_msg : undefined;
  return typeof said === "string" ? said : messageOf(err);
}

function enabledRefusal(opts: PageOptions, route: Route): string {
  return messagePage(
    opts,
    `Route ${route.name} is enabled`,
    "A route can be edited only while it is disabled. Disable it in the Static Routes table first; meanwhile its configuration is view-only.",
  );
}

// --- the session and the origin --------------------------------------------------------------------------------

function isSecure(req: FastifyRequest): boolean {
  return req.protocol === "https";
}

function sessionCookie(req: FastifyRequest, token: string, maxAge: number): string {
  return serializeCookie(COOKIE, token, {
    path: BASE,
    secure: isSecure(req),
    maxAge,
    sameSite: "Strict",
  });
}

/**
 * The product page's HTTPS rule: tests run only when the page and the router are both served
 * securely. Loopback counts as secure (browsers treat it so); the setting lifts the rule.
 */
function httpsRule(
  req: FastifyRequest,
  routerUrl: string,
  insecureTests: boolean,
): string | undefined {
  const pageSecure = isSecureUrl(`${req.protocol}://${req.host}`);
  const routerSecure = isSecureUrl(routerUrl);
  if (insecureTests || (pageSecure && routerSecure)) return undefined;
  const which =
    !pageSecure && !routerSecure
      ? "this page and the router are"
      : !pageSecure
        ? "this page is"
        : "the router is";
  return `Testing needs HTTPS, and ${which} served over plain HTTP. Serve both over HTTPS, or set APPGW_CONSOLE_INSECURE_TESTS=true on the gateway.`;
}

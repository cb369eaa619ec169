// The settings page, as ClearML's documentation shows it
// (https://clear.ml/docs/latest/docs/webapp/settings/webapp_settings_app_gw/):
// server-rendered HTML that reads without JavaScript. Forms post and redirect; console.js only
// adds the live refresh. Every value a user or task may have written is escaped by `html`.
import {
  routeAccess,
  routeStatusLabel,
  RUNTIME,
  type AccessRule,
  type Group,
  type Route,
  type Router,
  type RouterTestRecord,
  type Task,
  type User,
} from "@appgw/sdk";
import { html, safeHref, type Html } from "../html";

export const BASE = "/ui";

/** A task's name, leading to its page (as the product page's lead to ClearML's task page). */
function taskLink(task: { id: string; name?: string | null }): Html {
  return html`<a href="${BASE}/tasks/${encodeURIComponent(task.id)}">${task.name || task.id}</a>`;
}

/** A route's page on the settings page: `/ui/routes/<id><suffix>`. */
const routeHref = (route: Pick<Route, "id">, suffix = ""): string =>
  `${BASE}/routes/${encodeURIComponent(route.id)}${suffix}`;

/** Who is who: to name the groups, users and access rules that ids point at. */
export interface Directory {
  groups: Map<string, Group>;
  users: Map<string, User>;
  rules: AccessRule[];
}

/** Everything the main page shows, read through the API at one revision. */
export interface Overview extends Directory {
  revision: number;
  routers: Router[];
  tests: Map<string, RouterTestRecord>;
  routes: Route[];
}

/** A router's panel: the router, its routed tasks and its latest test. */
export interface RouterPanel {
  router: Router;
  tasks: Task[];
  test: RouterTestRecord | undefined;
  /** Why the Test button is off, when the HTTPS rule stops it. */
  testBlocked: string | undefined;
  queues: string[];
  form?: FormState<{ queue: string }>;
}

/** The Add Route / Edit Route form's fields. */
export interface RouteForm {
  name: string;
  type: "path" | "subdomain";
  /** The path or the subdomain, as the type says. */
  route: string;
  load_balanced: boolean;
  authenticated: boolean;
  groups: string[];
}

/** A form as the person left it, with what the API said about each field. */
export interface FormState<V> {
  values: V;
  errors: Record<string, string>;
  /** An error that concerns no one field. */
  error?: string;
}

export interface PageOptions {
  title: string;
  /** The signed-in person's name: shows the sign-out button. */
  user?: string;
  revision?: number;
  /** A change to announce ("Route 'llm' deleted"). */
  notice?: string;
}

// --- formatting ---------------------------------------------------------------------------------

/**
 * `2026-12-02 07:56 UTC`: short, sortable, the same for every reader, breaking only between the
 * date and the time; seconds in the title.
 */
function time(iso: string | null | undefined): Html {
  if (!iso) return html`<span class="muted">—</span>`;
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return html`${iso}`;
  const full = at.toISOString();
  return html`<time datetime="${full}" title="${full}"
    >${full.slice(0, 10)} ${full.slice(11, 16)}&nbsp;UTC</time
  >`;
}

function duration(sec: number | null | undefined): string {
  if (sec === null || sec === undefined || !Number.isFinite(sec)) return "—";
  if (sec < 60) return `${Math.round(sec * 10) / 10} s`;
  const s = Math.round(sec);
  const parts: string[] = [];
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) parts.push(`${d} d`);
  if (h) parts.push(`${h} h`);
  if (m && !d) parts.push(`${m} min`);
  if (!d && !h) parts.push(`${s % 60} s`);
  return parts.join(" ");
}

const TEST_STATUS: Record<RouterTestRecord["status"], string> = {
  passed: "Passed",
  failed: "Failed",
  running: "Running",
};

function testBadge(test: RouterTestRecord | undefined): Html {
  if (!test) return html`<span class="badge">Not tested</span>`;
  return html`<span class="badge badge-${test.status}">${TEST_STATUS[test.status]}</span>`;
}

/** What the Route column shows while the route is not active: the projected template. */
function routeTemplate(route: Route): string {
  return route.type === "subdomain"
    ? `${route.subdomain ?? ""}.<router domain>`
    : `<router url>${route.path ?? ""}`;
}

/** A link that opens an app or a router in a new tab; the text alone when it is not http(s). */
function externalLink(url: string | null | undefined): Html | string {
  const href = safeHref(url);
  if (!href) return url || "—";
  return html`<a href="${href}" target="_blank" rel="noopener noreferrer">${href}</a>`;
}

function routeCell(route: Route): Html | string {
  const url = route.urls?.[0];
  return route.status === "active" && safeHref(url)
    ? externalLink(url)
    : html`<code>${routeTemplate(route)}</code>`;
}

/** The Type column: the product page's names of the two route types. */
const typeLabel = (route: Route): string => (route.type === "subdomain" ? "Subdomain" : "URL");

/** The Load Balancing column. */
const balancingLabel = (route: Route): string =>
  route.load_balancer?.enabled === false ? "Single endpoint" : "Load balancing";

/** Who may use the route: its groups and the access rules naming it, as the routers decide. */
function accessCell(route: Route, d: Directory): Html {
  const access = routeAccess(route, d.rules);
  if (access.public) return html`Public`;
  const names = [
    ...access.groups.map((id) => d.groups.get(id)?.name ?? id),
    ...access.users.map((u) => u.name ?? d.users.get(u.id)?.name ?? u.id),
  ];
  if (names.length) return html`${names.join(", ")}`;
  // A restriction whose groups and users are all gone admits no one (docs/security.md).
  return access.restricted ? html`No one` : html`All signed-in users`;
}

function userName(users: Map<string, User>, id: string | null | undefined): string {
  if (!id) return "—";
  return users.get(id)?.name ?? id;
}

/** The tool that manages a route, as a person names it (the reference gateway's `managed_by`). */
const toolName = (tool: string): string => (tool === "pulumi" ? "Pulumi" : tool);

function managedNote(route: Route): Html | undefined {
  const m = route.managed_by;
  if (!m) return undefined;
  const tool = toolName(m.tool);
  return html`<span class="managed" title="${`${tool} stack ${m.stack}, resource ${m.resource}`}"
    >${tool} stack <code>${m.stack}</code></span
  >`;
}

// --- the page frame -------------------------------------------------------------------------------

function page(opts: PageOptions, body: Html): string {
  const signOut = opts.user
    ? html`<form method="post" action="${BASE}/logout" class="signout">
        <span>Signed in as <strong>${opts.user}</strong></span>
        <button type="submit" class="link">Sign out</button>
      </form>`
    : undefined;
  const notice = opts.notice
    ? html`<p class="notice" role="status">${opts.notice}</p>`
    : html`<p class="notice" role="status" hidden></p>`;
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <title>${opts.title} · App Gateway settings</title>
        <link rel="icon" href="${BASE}/assets/favicon.svg" type="image/svg+xml" />
        <link rel="stylesheet" href="${BASE}/assets/console.css" />
        <script src="${BASE}/assets/console.js" defer></script>
      </head>
      <body data-revision="${opts.revision ?? ""}">
        <a class="skip" href="#main">Skip to content</a>
        <header class="top">
          <a class="brand" href="${BASE}/">App Gateway <span>Settings</span></a>
          ${signOut}
        </header>
        <main id="main">${notice}${body}</main>
      </body>
    </html> `.text;
}

// --- sign in ----------------------------------------------------------------------------------------

export function loginPage(next: string, accessKey: string, message?: string): string {
  return page(
    { title: "Sign in" },
    html`<section class="card narrow" aria-labelledby="signin">
      <h1 id="signin">Sign in</h1>
      <p>Administrators sign in with an access key and secret key.</p>
      ${message ? html`<p class="error" role="alert" id="signin-error">${message}</p>` : undefined}
      <form method="post" action="${BASE}/login">
        <label for="access_key">Access key</label>
        <input
          id="access_key"
          name="access_key"
          autocomplete="username"
          required
          value="${accessKey}"
          ${message ? html`aria-describedby="signin-error"` : undefined}
        />
        <label for="secret_key">Secret key</label>
        <input
          id="secret_key"
          name="secret_key"
          type="password"
          autocomplete="current-password"
          required
        />
        <input type="hidden" name="next" value="${next}" />
        <button type="submit" class="primary">Sign in</button>
      </form>
    </section>`,
  );
}

// --- the main page: Routers and Static Routes --------------------------------------------------------

/** A table with a header row, its rows, or one row saying why there are none. */
function table(columns: string[], rows: Html[], empty: string, labelledBy?: string): Html {
  return html`<div class="scroll">
    <table ${labelledBy ? html`aria-labelledby="${labelledBy}"` : undefined}>
      <thead>
        <tr>
          ${columns.map((c) => html`<th scope="col">${c}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${
          rows.length
            ? rows
            : html`<tr>
                <td colspan="${columns.length}" class="empty">${empty}</td>
              </tr>`
        }
      </tbody>
    </table>
  </div>`;
}

/** The form's choice of route type: the request's `type`, as the product page names it. */
const ROUTE_TYPES = [
  ["path", "URL path"],
  ["subdomain", "Subdomain"],
] as const;

/** The product page's columns, and the row's actions. */
const ROUTE_COLUMNS = [
  "Enabled",
  "Name",
  "Route",
  "Type",
  "Load Balancing",
  "Status",
  "Targets",
  "Tasks",
  "Access",
  "Created",
  "Last Updated",
  "Updated By",
  "Actions",
];

function routersTable(o: Overview, selected?: string): Html {
  const rows = o.routers.map((r) => {
    const test = o.tests.get(r.router);
    return html`<tr
      ${r.router === selected ? html`class="selected" aria-current="true"` : undefined}
    >
      <th scope="row"><a href="${BASE}/routers/${encodeURIComponent(r.router)}">${r.router}</a></th>
      <td>${externalLink(r.url)}</td>
      <td>${testBadge(test)}</td>
      <td>${time(test?.completed ?? test?.started)}</td>
    </tr>`;
  });
  return html`<section id="routers" data-live aria-labelledby="routers-title">
    <h2 id="routers-title">Routers</h2>
    <p class="hint">Gateway routers online now. Select a router for its details and tests.</p>
    ${table(["Name", "URL", "Test Status", "Last Tested"], rows, "No router is online.")}
  </section>`;
}

function enabledToggle(route: Route): Html {
  // A switch is named after what it sets; its state is aria-checked, its action the title.
  const action = `${route.enabled ? "Disable" : "Enable"} route ${route.name}`;
  return html`<form method="post" action="${routeHref(route, "/enabled")}" class="toggle">
    <input type="hidden" name="enabled" value="${route.enabled ? "false" : "true"}" />
    <button
      type="submit"
      role="switch"
      aria-checked="${route.enabled ? "true" : "false"}"
      aria-label="Route ${route.name} enabled"
      title="${action}"
    >
      <span class="knob" aria-hidden="true"></span>
    </button>
  </form>`;
}

function routeActions(route: Route): Html {
  const view = route.enabled
    ? html`<a
        href="${routeHref(route)}"
        aria-label="View route configuration of ${route.name}"
        title="View route configuration"
        >View</a
      >`
    : html`<a href="${routeHref(route, "/edit")}" aria-label="Edit route ${route.name}">Edit</a>`;
  return html`${view}
    <a href="${routeHref(route, "/delete")}" aria-label="Delete route ${route.name}">Delete</a>`;
}

function routesTable(o: Overview): Html {
  const rows = o.routes.map((route) => {
    const tasks = route.tasks ?? [];
    const targets = tasks.map((t) => t.target).filter((t): t is string => !!t);
    const status = routeStatusLabel(route);
    return html`<tr>
      <td>${enabledToggle(route)}</td>
      <th scope="row">${route.name} ${managedNote(route)}</th>
      <td>${routeCell(route)}</td>
      <td>${typeLabel(route)}</td>
      <td>${balancingLabel(route)}</td>
      <td>
        <span class="status status-${status.replace(/ /g, "-").toLowerCase()}">${status}</span>
      </td>
      <td>${targets.length ? html`${targets.map((t) => html`<code>${t}</code> `)}` : "—"}</td>
      <td>${tasks.length ? tasks.map((t, i) => html`${i ? ", " : ""}${taskLink(t)}`) : "—"}</td>
      <td>${accessCell(route, o)}</td>
      <td>${time(route.created)}</td>
      <td>${time(route.last_update)}</td>
      <td>${userName(o.users, route.updated_by)}</td>
      <td class="actions">${routeActions(route)}</td>
    </tr>`;
  });
  return html`<section id="static-routes" data-live aria-labelledby="routes-title">
    <div class="section-head">
      <h2 id="routes-title">Static Routes</h2>
      <a class="button primary" href="${BASE}/routes/new">+ Add Route</a>
    </div>
    <p class="hint">
      Fixed URLs that tasks attach to. A route can be edited only while it is disabled.
    </p>
    ${table(ROUTE_COLUMNS, rows, "No static route yet.")}
  </section>`;
}

export function overviewPage(opts: PageOptions, o: Overview, panel?: RouterPanel): string {
  return page(
    opts,
    html`<h1>Application Gateway</h1>
      <div class="${panel ? "with-panel" : ""}">
        <div class="tables">${routersTable(o, panel?.router.router)}${routesTable(o)}</div>
        ${panel ? routerPanel(panel, o.users) : undefined}
      </div>`,
  );
}

// --- the router panel --------------------------------------------------------------------------------

function detail(label: string, value: Html | string): Html {
  return html`<dt>${label}</dt>
    <dd>${value}</dd>`;
}

function routerPanel(p: RouterPanel, users: Map<string, User>): Html {
  const r = p.router;
  const t = p.test;
  const updated =
    r.last_update_timestamp === null || r.last_update_timestamp === undefined
      ? null
      : new Date(r.last_update_timestamp * 1000).toISOString();
  const tasks = p.tasks.map(
    (task) =>
      html`<tr>
        <th scope="row">${taskLink(task)}</th>
        <td>${externalLink(String(task.runtime?.[RUNTIME.endpoint] ?? ""))}</td>
        <td>${userName(users, task.user)}</td>
      </tr>`,
  );
  const running = t?.status === "running";
  return html`<aside
    class="panel"
    id="router-panel"
    data-live
    aria-labelledby="panel-title"
    ${running ? html`data-running` : undefined}
  >
    <div class="section-head">
      <h2 id="panel-title">Router ${r.router}</h2>
      <a href="${BASE}/" class="button" aria-label="Close the details of router ${r.router}"
        >Close</a
      >
    </div>
    <section aria-labelledby="info-title">
      <h3 id="info-title">Info</h3>
      <dl>
        ${detail("Uptime", duration(r.uptime))} ${detail("Last update time", time(updated))}
        ${detail("Router version", r.version || "—")}
      </dl>
      <h4 id="routed-title">Routed Tasks</h4>
      ${table(["Task name", "Endpoint", "Owner"], tasks, "The router routes no task now.", "routed-title")}
    </section>
    <section aria-labelledby="test-title" id="test">
      <div class="section-head">
        <h3 id="test-title">Test Details</h3>
        ${testForm(p, running)}
      </div>
      ${
        t
          ? html`<dl>
              ${detail("Status", testBadge(t))} ${detail("Status message", t.status_message || "—")}
              ${detail("Status reason", t.status_reason)} ${detail("Started", time(t.started))}
              ${detail("Completed", time(t.completed))}
              ${detail("Run time", duration(t.run_time_sec))} ${detail("Queue", t.queue || "—")}
              ${detail("Worker", t.worker || "—")}
              ${detail("Test Task name", taskLink({ id: t.task_id, name: t.task_name }))}
              ${detail("Task ID", html`<code>${t.task_id}</code>`)}
              ${detail("Browser endpoint", externalLink(t.browser_endpoint))}
              ${detail("Endpoint", externalLink(t.endpoint))}
            </dl>`
          : html`<p class="empty">This router has not been tested.</p>`
      }
    </section>
    <section aria-labelledby="log-title">
      <h3 id="log-title">Test log</h3>
      ${
        t?.log.length
          ? html`<pre class="log" tabindex="0" aria-labelledby="log-title">
${t.log.join("\n")}</pre>`
          : html`<p class="empty">No test log.</p>`
      }
    </section>
  </aside>`;
}

function testForm(p: RouterPanel, running: boolean): Html {
  if (p.testBlocked) {
    return html`<p class="hint" id="test-blocked">${p.testBlocked}</p>`;
  }
  if (running) return html`<p class="hint">A test is running…</p>`;
  const error = p.form?.errors.queue ?? p.form?.error;
  const queue = p.form?.values.queue ?? "";
  return html`<details class="test-form" ${p.form ? html`open` : undefined}>
    <summary class="button">Test</summary>
    <form method="post" action="${BASE}/routers/${encodeURIComponent(p.router.router)}/test">
      <label for="queue">Queue</label>
      <p class="hint" id="queue-hint">A queue served by agents in the router's network.</p>
      <input
        id="queue"
        name="queue"
        list="queue-names"
        required
        value="${queue}"
        aria-describedby="queue-hint${error ? " queue-error" : ""}"
        ${error ? html`aria-invalid="true"` : undefined}
      />
      <datalist id="queue-names">
        ${p.queues.map((q) => html`<option value="${q}"></option>`)}
      </datalist>
      ${error ? html`<p class="error" id="queue-error" role="alert">${error}</p>` : undefined}
      <button type="submit" class="primary">Test</button>
    </form>
  </details>`;
}

// --- static routes: add, edit, view, delete ------------------------------------------------------------

/** The form's values for a stored route. */
export function routeFormValues(route: Route): RouteForm {
  return {
    name: route.name,
    type: route.type === "subdomain" ? "subdomain" : "path",
    route: (route.type === "subdomain" ? route.subdomain : route.path) ?? "",
    load_balanced: route.load_balancer?.enabled !== false,
    authenticated: !!route.auth_enabled,
    groups: route.user_groups ?? [],
  };
}

function fieldError(form: FormState<unknown>, field: string): Html | undefined {
  const message = form.errors[field];
  return message
    ? html`<p class="error" id="${field}-error" role="alert">${message}</p>`
    : undefined;
}

function checkbox(
  form: FormState<RouteForm>,
  name: "load_balanced" | "authenticated",
  label: string,
  hint: string,
): Html {
  return html`<label class="check"
      ><input type="checkbox" name="${name}" ${form.values[name] ? html`checked` : undefined} />
      ${label} <span class="hint">(${hint})</span></label
    >
    ${fieldError(form, name)}`;
}

function invalidAttrs(form: FormState<unknown>, field: string, hint?: string): Html {
  const ids = [hint, form.errors[field] ? `${field}-error` : undefined].filter(Boolean);
  return html`${ids.length ? html`aria-describedby="${ids.join(" ")}"` : undefined}
  ${form.errors[field] ? html`aria-invalid="true"` : undefined}`;
}

export function routeFormPage(
  opts: PageOptions,
  form: FormState<RouteForm>,
  groups: Group[],
  editing?: Route,
): string {
  const v = form.values;
  const chosen = new Set(v.groups);
  const action = editing ? routeHref(editing) : `${BASE}/routes`;
  const title = editing ? `Edit Route ${editing.name}` : "Add New Route";
  const groupBoxes = groups
    .filter((g) => g.assignable !== false || chosen.has(g.id))
    .map(
      (g) =>
        html`<label class="check"
          ><input
            type="checkbox"
            name="groups"
            value="${g.id}"
            ${chosen.has(g.id) ? html`checked` : undefined}
          />
          ${g.name}</label
        >`,
    );
  return page(
    opts,
    html`<section class="card dialog" aria-labelledby="form-title">
      <h1 id="form-title">${title}</h1>
      ${form.error ? html`<p class="error" role="alert">${form.error}</p>` : undefined}
      <form method="post" action="${action}" novalidate>
        <label for="name">Name</label>
        <input
          id="name"
          name="name"
          required
          maxlength="128"
          value="${v.name}"
          ${invalidAttrs(form, "name")}
        />
        ${fieldError(form, "name")}
        <fieldset>
          <legend>Route type</legend>
          ${ROUTE_TYPES.map(
            ([value, label]) =>
              html`<label class="check"
                ><input
                  type="radio"
                  name="type"
                  value="${value}"
                  ${v.type === value ? html`checked` : undefined}
                />
                ${label}</label
              >`,
          )}
        </fieldset>
        <label for="route">Route URL path or subdomain</label>
        <p class="hint" id="route-hint">
          A path must begin with a slash (<code>/llm</code>); a subdomain is a name such as
          <code>llm</code>.
        </p>
        <input
          id="route"
          name="route"
          required
          value="${v.route}"
          ${invalidAttrs(form, "route", "route-hint")}
        />
        ${fieldError(form, "route")}
        ${checkbox(form, "load_balanced", "Load Balanced", "serve several internal endpoints, keeping each session on one")}
        ${checkbox(form, "authenticated", "Authenticated Route", "only signed-in users; clear it for a public route")}
        <fieldset ${invalidAttrs(form, "groups")}>
          <legend>Endpoint Access</legend>
          <p class="hint">
            Groups whose members may use an authenticated route; none means every signed-in user.
          </p>
          ${groupBoxes.length ? groupBoxes : html`<p class="empty">No group defined.</p>`}
        </fieldset>
        ${fieldError(form, "groups")}
        <div class="buttons">
          <a class="button" href="${BASE}/">Cancel</a>
          <button type="submit" class="primary">${editing ? "Save" : "Create"}</button>
        </div>
      </form>
    </section>`,
  );
}

export function routeViewPage(opts: PageOptions, route: Route, d: Directory): string {
  const m = route.managed_by;
  return page(
    opts,
    html`<section class="card dialog" aria-labelledby="view-title">
      <h1 id="view-title">Route configuration: ${route.name}</h1>
      ${
        route.enabled
          ? html`<p class="hint">
              This route is enabled, so it is view-only. Disable it to edit it.
            </p>`
          : undefined
      }
      ${
        m
          ? html`<p class="managed-note">
              Managed by ${toolName(m.tool)} stack <code>${m.stack}</code>${
                m.resource ? html` (resource <code>${m.resource}</code>)` : undefined
              }:
              changes made here show as drift in that stack.
            </p>`
          : undefined
      }
      <dl>
        ${detail("Name", route.name)} ${detail("Enabled", route.enabled ? "Yes" : "No")}
        ${detail("Type", typeLabel(route))} ${detail("Route", routeCell(route))}
        ${detail("Load Balancing", balancingLabel(route))}
        ${detail("Status", routeStatusLabel(route))} ${detail("Access", accessCell(route, d))}
        ${detail("Created", time(route.created))} ${detail("Last Updated", time(route.last_update))}
        ${detail("Updated By", userName(d.users, route.updated_by))}
      </dl>
      <div class="buttons">
        <a class="button" href="${BASE}/">Back</a>
        ${route.enabled ? undefined : html`<a class="button primary" href="${routeHref(route, "/edit")}">Edit</a>`}
      </div>
    </section>`,
  );
}

/** A question before a change that stops traffic: Cancel, or the one button that goes ahead. */
function confirmation(
  opts: PageOptions,
  c: { title: string; text: Html; action: string; fields?: Record<string, string>; button: string },
): string {
  const fields = Object.entries(c.fields ?? {}).map(
    ([name, value]) => html`<input type="hidden" name="${name}" value="${value}" />`,
  );
  return page(
    opts,
    html`<section
      class="card dialog"
      role="alertdialog"
      aria-labelledby="confirm-title"
      aria-describedby="confirm-text"
    >
      <h1 id="confirm-title">${c.title}</h1>
      <p id="confirm-text">${c.text}</p>
      <form method="post" action="${c.action}" class="buttons">
        ${fields}
        <a class="button" href="${BASE}/">Cancel</a>
        <button type="submit" class="danger">${c.button}</button>
      </form>
    </section>`,
  );
}

export function deletePage(opts: PageOptions, route: Route): string {
  return confirmation(opts, {
    title: `Delete route ${route.name}?`,
    text:
      route.status === "active"
        ? html`Deleting the route removes its external endpoint, and
            <strong>stops every active connection through it</strong>.`
        : html`Deleting the route removes its external endpoint and stops routing any active
          connections.`,
    action: `${routeHref(route, "/delete")}`,
    button: "Delete",
  });
}

export function disablePage(opts: PageOptions, route: Route): string {
  return confirmation(opts, {
    title: `Disable route ${route.name}?`,
    text: html`The route is routing traffic now. Disabling it removes its external endpoint and
      <strong>stops every active connection through it</strong>.`,
    action: `${routeHref(route, "/enabled")}`,
    fields: { enabled: "false", force: "true" },
    button: "Disable",
  });
}

export function messagePage(opts: PageOptions, heading: string, message: string): string {
  return page(
    opts,
    html`<section class="card narrow" aria-labelledby="message-title">
      <h1 id="message-title">${heading}</h1>
      <p role="alert">${message}</p>
      <p><a href="${BASE}/">Back to the App Gateway settings</a></p>
    </section>`,
  );
}

// --- a task -------------------------------------------------------------------------------------------

/** What a task is doing: the product page's task names lead here (ClearML opens its task page). */
export function taskPage(
  opts: PageOptions,
  task: Task,
  log: string[],
  users: Map<string, User>,
): string {
  const runtime = task.runtime ?? {};
  const endpoint = String(runtime[RUNTIME.endpoint] ?? "");
  const browser = String(runtime[RUNTIME.browserEndpoint] ?? "");
  return page(
    opts,
    html`<section class="card wide" aria-labelledby="task-title">
      <h1 id="task-title">Task ${task.name || task.id}</h1>
      <dl>
        ${detail("Task ID", html`<code>${task.id}</code>`)} ${detail("Status", task.status ?? "—")}
        ${detail("Status reason", task.status_reason || "—")}
        ${detail("Owner", userName(users, task.user))} ${detail("Worker", task.last_worker || "—")}
        ${detail("Created", time(task.created))} ${detail("Started", time(task.started))}
        ${detail("Completed", time(task.completed))} ${detail("Endpoint", externalLink(endpoint))}
        ${detail("Browser endpoint", externalLink(browser))}
        ${detail("Tags", [...(task.tags ?? []), ...(task.system_tags ?? [])].join(", ") || "—")}
      </dl>
      <h2 id="task-log-title">Console</h2>
      ${
        log.length
          ? html`<pre class="log" tabindex="0" aria-labelledby="task-log-title">
${log.join("\n")}</pre>`
          : html`<p class="empty">The task has logged nothing.</p>`
      }
      <p><a href="${BASE}/">Back to the App Gateway settings</a></p>
    </section>`,
  );
}

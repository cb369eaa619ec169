// The settings page over HTTP, without a browser: sessions, the HTTPS rule of router tests, the
// live-refresh long poll, the settings that turn parts of it on and off. The browser test
// (browser.test.ts) walks the same page as a person would.
import assert from "node:assert/strict";
import { MANAGED_BY_HEADER } from "@appgw/sdk";
import { apiSettingsFromEnv } from "../../gateway/api/settings";
import { eventually, startTestGateway, type TestGateway } from "../helpers/gateway";
import { getPage, postForm, postJson, signIn } from "./http";

/** The `<input>` tag named `name` in a page. */
function input(page: string, name: string): string {
  const tag = new RegExp(`<input[^>]*name="${name}"[^>]*>`).exec(page);
  assert.ok(tag, `an input named ${name}`);
  return tag[0];
}

describe("settings page", () => {
  let t: TestGateway;
  let cookie: string;
  before(async () => {
    t = await startTestGateway();
    cookie = await signIn(t);
  });
  after(() => t?.stop());

  it("sends a person without a session to sign in, then back to the page they asked for", async () => {
    const res = await getPage(t, "/ui/routes/new");
    assert.equal(res.status, 303);
    assert.equal(res.location, "/ui/login?next=%2Fui%2Froutes%2Fnew");
    const login = await postForm(t, "/ui/login", undefined, {
      access_key: t.admin.accessKey,
      secret_key: t.admin.secretKey,
      next: "/ui/routes/new",
    });
    assert.equal(login.location, "/ui/routes/new");
    assert.match(
      String(login.headers["set-cookie"]),
      /^appgw_console=[^;]+; Path=\/ui; HttpOnly; SameSite=Strict; Max-Age=\d+$/,
    );
  });

  it("serves the gateway's root as a redirect to the page", async () => {
    const res = await getPage(t, "/");
    assert.equal(res.status, 303);
    assert.equal(res.location, "/ui/");
  });

  it("admits administrators only", async () => {
    const { credentials: carol } = await t.client.addUser({ name: "carol" });
    const res = await postForm(t, "/ui/login", undefined, {
      access_key: carol.access_key,
      secret_key: carol.secret_key,
      next: "/ui/",
    });
    assert.equal(res.status, 403);
    assert.match(res.text, /carol is not an administrator/);
    assert.equal(res.headers["set-cookie"], undefined);
  });

  it("signs out with a post that clears the session", async () => {
    const own = await signIn(t);
    const res = await postForm(t, "/ui/logout", own, {});
    assert.equal(res.status, 303);
    assert.match(String(res.headers["set-cookie"]), /^appgw_console=; .*Max-Age=0/);
  });

  it("shows every static route with the columns of the product page", async () => {
    await t.client.routes.save({
      name: "docs",
      type: "subdomain",
      subdomain: "docs",
      auth_enabled: false,
      enabled: false,
    });
    const res = await getPage(t, "/ui/", cookie);
    assert.equal(res.status, 200);
    for (const column of [
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
    ]) {
      assert.match(res.text, new RegExp(`<th scope="col">${column}</th>`), column);
    }
    assert.match(
      res.text,
      /<code>docs\.&#60;router domain&#62;<\/code>/,
      "the template of an inactive subdomain route",
    );
    assert.match(res.text, /<td>Subdomain<\/td>/);
    assert.match(res.text, /<td>Public<\/td>/);
    assert.match(res.text, /aria-label="Edit route docs"/, "a disabled route offers Edit");
  });

  it("says which Pulumi stack manages a route, in the table and in its configuration", async () => {
    const marker = "tool=pulumi&stack=shop%2Fprod&resource=models+route";
    const id = await t.client.routes.save(
      { name: "models", type: "path", path: "/models" },
      { headers: { [MANAGED_BY_HEADER]: marker } },
    );
    const table = await getPage(t, "/ui/", cookie);
    assert.match(
      table.text,
      /models <span class="managed"[^>]*title="Pulumi stack shop\/prod, resource models route"[^>]*>\s*Pulumi stack <code>shop\/prod<\/code>/,
    );
    const view = await getPage(t, `/ui/routes/${id}`, cookie);
    assert.match(
      view.text,
      /Managed by Pulumi stack <code>shop\/prod<\/code> \(resource <code>models route<\/code>\):\s+changes made here show as drift in that stack/,
    );
    assert.match(table.text, /<th scope="row">docs <\/th>/, "an unmanaged route says nothing");
  });

  it("shows who may use a route: its groups and those an access rule grants", async () => {
    const team = await t.client.groups.save({ name: "ml-team" });
    const id = await t.client.routes.save({
      name: "granted",
      type: "path",
      path: "/granted",
      enabled: false,
    });
    await t.client.accessRules.save({
      name: "ml-team to granted",
      description: "",
      users: [],
      entity_type: "route",
      entity_id: id,
      access_permission: "read",
      groups: [team.id],
    });
    const table = await getPage(t, "/ui/", cookie);
    assert.match(
      table.text,
      /<th scope="row">granted <\/th>(?:(?!<\/tr>)[\s\S])*<td>ml-team<\/td>/,
    );
  });

  it("announces a change from a code in the address, never from text in it", async () => {
    const id = await t.client.routes.save({
      name: "noted",
      type: "path",
      path: "/noted",
      enabled: false,
    });
    const named = await getPage(t, `/ui/?done=enabled&route=${id}`, cookie);
    assert.match(named.text, /<p class="notice" role="status">Route noted enabled\.<\/p>/);
    const gone = await getPage(t, "/ui/?done=deleted&route=nothing", cookie);
    assert.match(gone.text, /<p class="notice" role="status">Route deleted\.<\/p>/);
    for (const query of [
      "?notice=Your+session+expired",
      "?done=hacked&route=x",
      "?done=constructor",
    ]) {
      const res = await getPage(t, `/ui/${query}`, cookie);
      assert.match(res.text, /<p class="notice" role="status" hidden><\/p>/, query);
    }
  });

  it("answers a post that is not a form with 415 and changes nothing", async () => {
    const json = await postJson(t, "/ui/routes", cookie, {
      name: "json",
      type: "path",
      route: "/json",
    });
    assert.equal(json.status, 415);
    assert.match(json.text, /urlencoded form/);
    assert.equal(await t.client.routes.findByName("json"), undefined);
  });

  it("refuses an edit of an enabled route even when the form is posted directly", async () => {
    const id = await t.client.routes.save({ name: "live", type: "path", path: "/live" });
    const res = await postForm(t, `/ui/routes/${id}`, cookie, {
      name: "live",
      type: "path",
      route: "/moved",
    });
    assert.equal(res.status, 409);
    assert.match(res.text, /can be edited only while it is disabled/);
    assert.equal((await t.client.routes.get(id))?.path, "/live");
  });

  it("lists every field error at once, in a person's words, and keeps what was typed", async () => {
    const res = await postForm(t, "/ui/routes", cookie, {
      name: "",
      type: "subdomain",
      route: "",
      load_balanced: "on",
    });
    assert.equal(res.status, 400);
    assert.match(res.text, /id="name-error" role="alert">Enter a name for the route\.</);
    assert.match(
      res.text,
      /id="route-error" role="alert">Enter the route(&#39;|')s subdomain, such as llm\.</,
    );
    assert.doesNotMatch(res.text, /Too small|expected string/);
    assert.match(input(res.text, "load_balanced"), /checked/);
  });

  it("refuses groups on a public route instead of dropping them", async () => {
    const { id: group } = await t.client.groups.save({ name: "pub-team" });
    const res = await postForm(t, "/ui/routes", cookie, {
      name: "public-with-groups",
      type: "path",
      route: "/public-with-groups",
      groups: [group],
    });
    assert.equal(res.status, 400);
    assert.match(res.text, /id="groups-error" role="alert">A public route admits everyone/);
    assert.equal(await t.client.routes.findByName("public-with-groups"), undefined);
    // Authenticated, the same groups are kept.
    const ok = await postForm(t, "/ui/routes", cookie, {
      name: "public-with-groups",
      type: "path",
      route: "/public-with-groups",
      authenticated: "on",
      groups: [group],
    });
    assert.equal(ok.status, 303, /class="error"[^>]*>([^<]*)/.exec(ok.text)?.[1]);
    const saved = await t.client.routes.findByName("public-with-groups");
    assert.deepEqual(saved?.user_groups, [group]);
  });

  it("puts the API's reason beside the field it names and keeps every value", async () => {
    await t.client.routes.save({ name: "taken", type: "path", path: "/taken", enabled: false });
    const res = await postForm(t, "/ui/routes", cookie, {
      name: "taken",
      type: "path",
      route: "/elsewhere",
      load_balanced: "on",
    });
    assert.equal(res.status, 400);
    assert.match(res.text, /<p class="error" id="name-error" role="alert">[^<]*taken[^<]*<\/p>/);
    assert.match(input(res.text, "route"), /value="\/elsewhere"/);
    assert.match(input(res.text, "load_balanced"), / checked/);
    assert.doesNotMatch(input(res.text, "authenticated"), / checked/);
  });

  it("asks before disabling a route that is routing, then disables it", async () => {
    const id = await t.client.routes.save({ name: "busy", type: "path", path: "/busy" });
    await t.client.startEcho({ queue: "default", name: "busy app", staticRoute: "busy" });
    await eventually(
      async () => (await t.client.routes.get(id))?.status === "active",
      15_000,
      "busy routing",
    );
    const first = await postForm(t, `/ui/routes/${id}/enabled`, cookie, { enabled: "false" });
    assert.equal(first.status, 409);
    assert.match(first.text, /stops every active connection through it/);
    assert.equal((await t.client.routes.get(id))?.enabled, true, "nothing changed yet");
    const confirmed = await postForm(t, `/ui/routes/${id}/enabled`, cookie, {
      enabled: "false",
      force: "true",
    });
    assert.equal(confirmed.status, 303);
    assert.equal((await t.client.routes.get(id))?.enabled, false);
  });

  it("answers the live refresh once the gateway's revision moves", async () => {
    const now = JSON.parse((await getPage(t, "/ui/watch", cookie)).text) as {
      revision: number;
    };
    const waiting = getPage(t, `/ui/watch?since=${now.revision}`, cookie);
    await new Promise((r) => setTimeout(r, 200));
    await t.client.routes.save({ name: "fresh", type: "path", path: "/fresh" });
    const res = await waiting;
    assert.equal(res.status, 200);
    assert.notEqual((JSON.parse(res.text) as { revision: number }).revision, now.revision);
  });

  it("shows a task the tables name, and says so plainly when there is none", async () => {
    const id = await t.client.tasks.create({ name: "notebook 7", type: "application" });
    await t.client.tasks.log(id, "kernel ready");
    const res = await getPage(t, `/ui/tasks/${id}`, cookie);
    assert.equal(res.status, 200);
    assert.match(res.text, /<h1 id="task-title">Task notebook 7<\/h1>/);
    assert.match(res.text, /<dt>Owner<\/dt>\s*<dd>admin<\/dd>/);
    assert.match(res.text, />\s*kernel ready<\/pre>/);
    const missing = await getPage(t, "/ui/tasks/0123456789abcdef0123456789abcdef", cookie);
    assert.equal(missing.status, 400);
    assert.match(missing.text, /<p role="alert">[^<]*task[^<]*<\/p>/i);
    assert.doesNotMatch(missing.text, /at \w+ \(|node_modules/, "no stack trace");
  });

  it("checks the queue of a router test before launching it", async () => {
    const res = await postForm(t, "/ui/routers/router-1/test", cookie, { queue: "nowhere" });
    assert.equal(res.status, 400);
    assert.match(
      res.text,
      /<p class="error" id="queue-error" role="alert">the gateway has no queue named &#39;nowhere&#39;<\/p>/,
    );
    assert.deepEqual(await t.client.routerTests(["router-1"]), [], "no test was recorded");
  });

  it("offers no Test button when the page is reached over plain HTTP outside loopback", async () => {
    const host = { host: "gateway.example.com" };
    const panel = await getPage(t, "/ui/routers/router-1", cookie, host);
    assert.equal(panel.status, 200);
    assert.match(panel.text, /Testing needs HTTPS, and this page is served over plain HTTP/);
    assert.doesNotMatch(panel.text, /<summary class="button">Test<\/summary>/);
    const post = await postForm(
      t,
      "/ui/routers/router-1/test",
      cookie,
      { queue: "default" },
      { ...host, origin: "http://gateway.example.com" },
    );
    assert.equal(post.status, 400);
    assert.deepEqual(await t.client.routerTests(["router-1"]), []);
  });

  it("reads its settings from APPGW_CONSOLE and APPGW_CONSOLE_INSECURE_TESTS, naming a bad one", () => {
    assert.equal(apiSettingsFromEnv({ APPGW_CONSOLE: "off" }).console, false);
    assert.deepEqual(apiSettingsFromEnv({ APPGW_CONSOLE_INSECURE_TESTS: "true" }).console, {
      insecureTests: true,
    });
    assert.throws(
      () => apiSettingsFromEnv({ APPGW_CONSOLE: "maybe" }),
      /APPGW_CONSOLE must be 'on' or 'off', got 'maybe'/,
    );
  });
});

describe("settings page turned off, or allowed to test over plain HTTP", () => {
  it("serves no page when APPGW_CONSOLE=off", async () => {
    const t = await startTestGateway({ router: false, agent: false, console: false });
    try {
      const res = await getPage(t, "/ui/login");
      assert.equal(res.status, 404);
      assert.match(res.text, /"result_code":404/, "the API's own envelope");
    } finally {
      await t.stop();
    }
  });

  it("offers the Test button over plain HTTP with APPGW_CONSOLE_INSECURE_TESTS", async () => {
    const t = await startTestGateway({ agent: false, console: { insecureTests: true } });
    try {
      const cookie = await signIn(t);
      const panel = await getPage(t, "/ui/routers/router-1", cookie, {
        host: "gateway.example.com",
      });
      assert.match(panel.text, /<summary class="button">Test<\/summary>/);
    } finally {
      await t.stop();
    }
  });
});

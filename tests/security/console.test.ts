// The settings page holds an administrator's token: it must not be posted to from another site,
// leak to the apps behind a router on the same host, run script that users or tasks wrote, or
// send a person off to another site after signing in. docs/security.md, "Settings page".
import assert from "node:assert/strict";
import { getPage, postForm, signIn } from "../console/http";
import { echoOf, routerBase, send, startDataplaneGateway, waitRouted } from "../helpers/dataplane";
import { eventually, type TestGateway } from "../helpers/gateway";

describe("security: the settings page", () => {
  let t: TestGateway;
  let cookie: string;
  before(async () => {
    t = await startDataplaneGateway();
    cookie = await signIn(t);
  });
  after(() => t?.stop());

  it("refuses a form posted from another origin, or with no sign of its origin, and changes nothing", async () => {
    const form = { name: "csrf", type: "path", route: "/csrf", authenticated: "on" };
    const foreign = await postForm(t, "/ui/routes", cookie, form, {
      origin: "https://evil.example",
    });
    assert.equal(foreign.status, 403);
    assert.match(foreign.text, /must be sent from the settings page itself/);
    const crossSite = await postForm(t, "/ui/routes", cookie, form, {
      origin: "",
      "sec-fetch-site": "cross-site",
    });
    assert.equal(crossSite.status, 403);
    // A sibling port of the same host is another origin (a router's apps live there).
    const sibling = await postForm(t, "/ui/routes", cookie, form, { origin: routerBase(t) });
    assert.equal(sibling.status, 403);
    assert.equal(await t.client.routes.findByName("csrf"), undefined);

    const same = await postForm(t, "/ui/routes", cookie, form);
    assert.equal(same.status, 303, same.text);
    assert.ok(await t.client.routes.findByName("csrf"));
  });

  it("sends a person only to a page of its own after signing in", async () => {
    for (const next of [
      "//evil.example/ui/",
      "https://evil.example/",
      "/ui/\\evil",
      "/elsewhere",
      "/\\/evil.example",
    ]) {
      const res = await postForm(t, "/ui/login", undefined, {
        access_key: t.admin.accessKey,
        secret_key: t.admin.secretKey,
        next,
      });
      assert.equal(res.location, "/ui/", next);
    }
  });

  it("escapes what users and tasks wrote: task names and test logs are text, never markup", async () => {
    const evil = `<img src=x onerror="alert(1)"><script>alert(2)</script>`;
    await t.client.routes.save({ name: "xss", type: "path", path: "/xss", auth_enabled: false });
    const task = await t.client.startEcho({ queue: "default", name: evil, staticRoute: "xss" });
    await waitRouted(t, "/xss/", { task });
    await t.client.tasks.log(task, `log line ${evil}`);

    const overview = await getPage(t, "/ui/", cookie);
    const panel = await eventually(async () => {
      const res = await getPage(t, "/ui/routers/router-1", cookie);
      return res.text.includes("&#60;img") ? res : undefined;
    }, 10_000);
    for (const page of [overview.text, panel.text]) {
      assert.doesNotMatch(page, /<img src=x|<script>alert/);
      assert.match(
        page,
        /&#60;img src=x onerror=&#34;alert\(1\)&#34;&#62;&#60;script&#62;alert\(2\)&#60;\/script&#62;/,
      );
    }
  });

  it("runs no inline script and cannot be framed", async () => {
    for (const path of ["/ui/login", "/ui/", "/ui/routers/router-1", "/ui/routes/new"]) {
      const res = await getPage(t, path, cookie);
      assert.equal(res.status, 200, path);
      const csp = String(res.headers["content-security-policy"]);
      assert.match(csp, /script-src 'self'/, path);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, path);
      assert.match(csp, /frame-ancestors 'none'/, path);
      assert.equal(res.headers["x-frame-options"], "DENY", path);
      assert.doesNotMatch(res.text, /<script(?![^>]*\ssrc=)[^>]*>/, `${path}: no inline script`);
      assert.doesNotMatch(
        res.text,
        /<[a-z][^>]*\son[a-z]+=/i,
        `${path}: no event-handler attribute`,
      );
    }
  });

  it("keeps its session cookie from the apps behind a router on the same host", async () => {
    await t.client.routes.save({ name: "app", type: "path", path: "/app", auth_enabled: false });
    const task = await t.client.startEcho({
      queue: "default",
      name: "cookie reader",
      staticRoute: "app",
    });
    await waitRouted(t, "/app/", { task });
    // Browsers send a host's cookies to each of its ports: the router's requests carry it too.
    const reply = await send(t, "/app/", {
      headers: { cookie: `theme=dark; ${cookie}; __Host-appgw_console=x; lang=en` },
    });
    assert.equal(echoOf(reply).headers.cookie, "theme=dark; lang=en");
  });

  it("signs out a session whose token the API no longer accepts", async () => {
    const stale = `appgw_console=${"x".repeat(20)}.${"y".repeat(20)}.${"z".repeat(20)}`;
    const res = await getPage(t, "/ui/", stale);
    assert.equal(res.status, 303);
    assert.match(res.location ?? "", /^\/ui\/login\?next=/);
  });
});

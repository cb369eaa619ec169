// The settings page holds an administrator's token: it must not be posted to from another site,
// leak to the apps behind a router on the same host, run script that users or tasks wrote, or
// send a person off to another site after signing in. docs/security.md, "Settings page".
import assert from "node:assert/strict";
import { runRouterTest, tokenExpiry } from "@appgw/sdk";
import { ReferenceGatewayClient } from "@appgw/sdk/reference";
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
    const refused: Record<string, string>[] = [
      { origin: "", "sec-fetch-site": "cross-site" },
      { origin: "", "sec-fetch-site": "same-site" },
      // Neither header: no browser posts a form so, and nothing shows where it came from.
      { origin: "" },
      // Sandboxed frames and privacy-sensitive redirects send the opaque origin.
      { origin: "null" },
    ];
    for (const headers of refused) {
      const res = await postForm(t, "/ui/routes", cookie, form, headers);
      assert.equal(res.status, 403, JSON.stringify(headers));
    }
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
    // A router test's log shows the test task's console, which the task itself writes.
    const test = await runRouterTest(t.client, {
      router: "router-1",
      queue: "default",
      timeoutSec: 30,
      allowInsecure: false,
    });
    assert.equal(test.status, "passed", test.statusMessage);
    await t.client.tasks.log(test.taskId, `log line ${evil}`);

    const overview = await getPage(t, "/ui/", cookie);
    const panel = await eventually(async () => {
      const res = await getPage(t, "/ui/routers/router-1", cookie);
      return /<pre class="log"[^>]*>[^<]*log line &#60;img/.test(res.text) ? res : undefined;
    }, 10_000);
    assert.match(
      panel.text,
      /<th scope="row"><a href="\/ui\/tasks\/[0-9a-f]+">&#60;img src=x/,
      "the routed task's name",
    );
    const taskPage = await getPage(t, `/ui/tasks/${task}`, cookie);
    assert.equal(taskPage.status, 200);
    for (const page of [overview.text, panel.text, taskPage.text]) {
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

  it("signs out a session whose user is gone, and one that is not a token at all", async () => {
    const { id, credentials } = await t.client.addUser({ name: "dora", role: "admin" });
    const dora = await signIn(t, {
      accessKey: credentials.access_key,
      secretKey: credentials.secret_key,
    });
    assert.equal((await getPage(t, "/ui/", dora)).status, 200);
    await t.client.users.delete(id);
    const forged = `appgw_console=${"x".repeat(20)}.${"y".repeat(20)}.${"z".repeat(20)}`;
    for (const stale of [dora, forged]) {
      const res = await getPage(t, "/ui/", stale);
      assert.equal(res.status, 303);
      assert.match(res.location ?? "", /^\/ui\/login\?next=/);
    }
  });

  it("is not locked out by a session cookie another page of the host planted first", async () => {
    // Script on an app of this host can set `appgw_console` for a longer path, which the browser
    // then sends first; no router sees script-set cookies.
    const planted = `appgw_console=planted.by.app; ${cookie}`;
    const res = await getPage(t, "/ui/", planted);
    assert.equal(res.status, 200);
    assert.match(res.text, /Signed in as <strong>admin<\/strong>/);
  });

  it("hands a router under test a token that ends with the test, never the session's own", async () => {
    const session = cookie.slice("appgw_console=".length);
    const page = new ReferenceGatewayClient({ apiHost: t.apiUrl, token: session });
    const short = await page.shortToken(90);
    assert.notEqual(short, session);
    const lifetime = tokenExpiry(short)! - Date.now();
    assert.ok(lifetime > 80_000 && lifetime <= 90_000, `${lifetime} ms`);
    // Never longer than the token it came from.
    const longer = await new ReferenceGatewayClient({ apiHost: t.apiUrl, token: short }).shortToken(
      3600,
    );
    assert.ok(tokenExpiry(longer)! <= tokenExpiry(short)!);
    // It is the caller's identity, no more.
    const me = await new ReferenceGatewayClient({ apiHost: t.apiUrl, token: short }).users.me();
    assert.equal(me.user.name, "admin");
  });
});

// Signing out and in change the browser's session: another site must not do either for the user,
// with an image (a GET) or a form posted from its own page.
import assert from "node:assert/strict";
import { request } from "undici";
import { routerBase, setCookies } from "../helpers/dataplane";
import { startTestGateway, type TestGateway } from "../helpers/gateway";

describe("security: signing out and in only from the gateway's own pages", () => {
  let t: TestGateway;
  let keys: { accessKey: string; secretKey: string };
  let cookie: string;

  before(async () => {
    t = await startTestGateway({ agent: false });
    const { credentials } = await t.client.addUser({ name: "alice" });
    keys = { accessKey: credentials.access_key, secretKey: credentials.secret_key };
    cookie = `appgw_token=${await t.client.token()}`;
  });
  after(() => t.stop());

  async function send(
    path: string,
    method: "GET" | "HEAD" | "POST" | "PUT",
    headers: Record<string, string> = {},
    body?: string,
  ) {
    const res = await request(`${routerBase(t)}${path}`, { method, headers, body });
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  }

  const clears = (headers: Record<string, unknown>) =>
    setCookies(headers as never).some((c) => /^appgw_token=;.*max-age=0/i.test(c));

  it("answers a GET of /_appgw/logout, as a cross-site image sends it, with a sign-out button and keeps the session", async () => {
    const reply = await send("/_appgw/logout", "GET", {
      cookie,
      "sec-fetch-site": "cross-site",
      "sec-fetch-mode": "no-cors",
      "sec-fetch-dest": "image",
    });
    assert.equal(reply.status, 200);
    assert.deepEqual(setCookies(reply.headers), []);
    assert.match(String(reply.headers["content-type"]), /text\/html/);
    assert.match(reply.text, /<form method="post" action="\/_appgw\/logout">/);
    assert.match(reply.text, /<button type="submit">Sign out<\/button>/);
    assert.match(String(reply.headers["content-security-policy"]), /form-action 'self'/);
  });

  it("signs out on a POST from the gateway's own page: clears the cookie and goes to the login page", async () => {
    const own: Record<string, string>[] = [
      { origin: routerBase(t) },
      { "sec-fetch-site": "same-origin" },
    ];
    for (const headers of own) {
      const reply = await send("/_appgw/logout", "POST", { cookie, ...headers });
      assert.equal(reply.status, 303, JSON.stringify(headers));
      assert.equal(reply.headers.location, "/_appgw/login");
      assert.ok(clears(reply.headers), JSON.stringify(reply.headers["set-cookie"]));
    }
  });

  it("refuses a sign-out posted from another site or a sibling subdomain, keeping the session", async () => {
    const others: Record<string, string>[] = [
      { origin: "https://evil.example" },
      { origin: "null" },
      // The router's own host, but not its scheme.
      { origin: `https://127.0.0.1:${new URL(routerBase(t)).port}` },
      { "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "same-site" },
    ];
    for (const headers of others) {
      const reply = await send("/_appgw/logout", "POST", { cookie, ...headers });
      assert.equal(reply.status, 403, JSON.stringify(headers));
      assert.equal(JSON.parse(reply.text).error.code, "APPGW_FORBIDDEN");
      assert.deepEqual(setCookies(reply.headers), [], JSON.stringify(headers));
    }
  });

  it("refuses a sign-in posted from another site (login CSRF) and sets no cookie", async () => {
    const form = new URLSearchParams({
      access_key: keys.accessKey,
      secret_key: keys.secretKey,
      next: "/",
    }).toString();
    const formHeaders = { "content-type": "application/x-www-form-urlencoded" };
    const others: Record<string, string>[] = [
      { origin: "https://evil.example" },
      { "sec-fetch-site": "cross-site" },
    ];
    for (const headers of others) {
      const reply = await send("/_appgw/login", "POST", { ...formHeaders, ...headers }, form);
      assert.equal(reply.status, 403, JSON.stringify(headers));
      assert.deepEqual(setCookies(reply.headers), [], JSON.stringify(headers));
    }
    const own = await send(
      "/_appgw/login",
      "POST",
      { ...formHeaders, origin: routerBase(t) },
      form,
    );
    assert.equal(own.status, 303);
    assert.match(setCookies(own.headers)[0] ?? "", /^appgw_token=[\w-]+\.[\w-]+\.[\w-]+;/);
  });

  it("allows only GET, HEAD and POST on /_appgw/logout", async () => {
    const reply = await send("/_appgw/logout", "PUT", { cookie, origin: routerBase(t) });
    assert.equal(reply.status, 405);
    assert.equal(reply.headers.allow, "GET, HEAD, POST");
  });
});

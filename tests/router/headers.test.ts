import assert from "node:assert/strict";
import type { IncomingHttpHeaders } from "node:http";
import { getCookie, removeCookies, setCookieName } from "../../gateway/cookies";
import {
  cleanResponseHeaders,
  upstreamRequestHeaders,
  type ForwardContext,
} from "../../gateway/router/headers";

const ctx: ForwardContext = {
  clientIp: "192.0.2.7",
  proto: "https",
  prefix: "/llm",
  user: { id: "u1", name: "alice" },
  dropAuthorization: false,
  authCookie: "appgw_token",
};

/** The flat upstream list as name → values (lower-case names). */
function asMap(flat: string[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!.toLowerCase();
    m.set(name, [...(m.get(name) ?? []), flat[i + 1]!]);
  }
  return m;
}

describe("router request header cleaning", () => {
  it("strips hop-by-hop headers", () => {
    const out = asMap(
      upstreamRequestHeaders(
        [
          "Host",
          "gw.example",
          "Connection",
          "keep-alive",
          "Keep-Alive",
          "timeout=5",
          "Proxy-Connection",
          "keep-alive",
          "Transfer-Encoding",
          "chunked",
          "TE",
          "trailers",
          "Trailer",
          "x-checksum",
          "Upgrade",
          "h2c",
          "Proxy-Authorization",
          "Basic eA==",
          "Proxy-Authenticate",
          "Basic",
          "Expect",
          "100-continue",
          "Accept",
          "text/plain",
        ],
        ctx,
      ),
    );
    for (const name of [
      "connection",
      "keep-alive",
      "proxy-connection",
      "transfer-encoding",
      "te",
      "trailer",
      "upgrade",
      "proxy-authorization",
      "proxy-authenticate",
      "expect",
    ]) {
      assert.equal(out.has(name), false, name);
    }
    assert.deepEqual(out.get("accept"), ["text/plain"]);
    assert.deepEqual(out.get("host"), ["gw.example"]);
  });

  it("drops every header the client names in Connection", () => {
    const out = asMap(
      upstreamRequestHeaders(
        ["Connection", "X-Custom, x-other", "X-Custom", "1", "X-Other", "2", "X-Kept", "3"],
        ctx,
      ),
    );
    assert.equal(out.has("x-custom"), false);
    assert.equal(out.has("x-other"), false);
    assert.deepEqual(out.get("x-kept"), ["3"]);
  });

  it("still sets fresh X-Forwarded-* and identity headers when Connection names them (CVE-2024-45410)", () => {
    const out = asMap(
      upstreamRequestHeaders(
        [
          "Host",
          "gw.example",
          "Connection",
          "close, X-Forwarded-For, X-Forwarded-Prefix, X-Appgw-User, X-Appgw-User-Id",
          "X-Forwarded-For",
          "10.9.9.9",
        ],
        ctx,
      ),
    );
    assert.deepEqual(out.get("x-forwarded-for"), ["192.0.2.7"]);
    assert.deepEqual(out.get("x-forwarded-proto"), ["https"]);
    assert.deepEqual(out.get("x-forwarded-host"), ["gw.example"]);
    assert.deepEqual(out.get("x-forwarded-prefix"), ["/llm"]);
    assert.deepEqual(out.get("x-appgw-user"), ["alice"]);
    assert.deepEqual(out.get("x-appgw-user-id"), ["u1"]);
  });

  it("replaces inbound forwarding and identity headers instead of trusting them", () => {
    const out = asMap(
      upstreamRequestHeaders(
        [
          "X-Forwarded-For",
          "1.2.3.4",
          "X-Forwarded-Host",
          "evil.example",
          "X-Forwarded-Proto",
          "http",
          "X-Forwarded-Prefix",
          "/admin",
          "X-Forwarded-Port",
          "1",
          "Forwarded",
          "for=1.2.3.4",
          "X-Real-IP",
          "1.2.3.4",
          "X-Appgw-User",
          "root",
          "X-Appgw-User-Id",
          "admin-id",
        ],
        { ...ctx, user: null },
      ),
    );
    assert.deepEqual(out.get("x-forwarded-for"), ["192.0.2.7"]);
    assert.deepEqual(out.get("x-forwarded-proto"), ["https"]);
    assert.deepEqual(out.get("x-forwarded-prefix"), ["/llm"]);
    for (const name of [
      "x-forwarded-host",
      "x-forwarded-port",
      "forwarded",
      "x-real-ip",
      "x-appgw-user",
      "x-appgw-user-id",
    ]) {
      assert.equal(out.has(name), false, name);
    }
  });

  it("sends no X-Forwarded-Prefix for subdomain routes", () => {
    const out = asMap(
      upstreamRequestHeaders(["Host", "chat.apps.example"], { ...ctx, prefix: "" }),
    );
    assert.equal(out.has("x-forwarded-prefix"), false);
  });

  it("forwards only the first Host header", () => {
    const out = asMap(upstreamRequestHeaders(["Host", "gw.example", "Host", "evil.example"], ctx));
    assert.deepEqual(out.get("host"), ["gw.example"]);
    assert.deepEqual(out.get("x-forwarded-host"), ["gw.example"]);
  });

  it("removes the auth and affinity cookies and keeps the app's own", () => {
    const out = asMap(
      upstreamRequestHeaders(
        ["Cookie", "appgw_token=secret.jwt; app=1; appgw_aff_0123abcd=t1:.mac; theme=dark"],
        ctx,
      ),
    );
    assert.deepEqual(out.get("cookie"), ["app=1; theme=dark"]);
  });

  it("drops the Cookie header when only gateway cookies were in it", () => {
    const out = asMap(
      upstreamRequestHeaders(["Cookie", "appgw_token=secret.jwt; appgw_aff_x=y"], ctx),
    );
    assert.equal(out.has("cookie"), false);
  });

  it("keeps cookies whose names only contain the gateway's cookie name", () => {
    const out = asMap(
      upstreamRequestHeaders(["Cookie", "my_appgw_token=1; appgw_token_old=2"], ctx),
    );
    assert.deepEqual(out.get("cookie"), ["my_appgw_token=1; appgw_token_old=2"]);
  });

  it("removes Authorization only when it carried the gateway's token", () => {
    const raw = ["Authorization", "Bearer x.y.z"];
    assert.equal(
      asMap(upstreamRequestHeaders(raw, { ...ctx, dropAuthorization: true })).has("authorization"),
      false,
    );
    assert.deepEqual(asMap(upstreamRequestHeaders(raw, ctx)).get("authorization"), [
      "Bearer x.y.z",
    ]);
  });

  it("percent-encodes a user name that is not visible ASCII", () => {
    const out = asMap(upstreamRequestHeaders([], { ...ctx, user: { id: "u1", name: "zoë\r\n" } }));
    assert.deepEqual(out.get("x-appgw-user"), ["zo%C3%AB%0D%0A"]);
  });
});

describe("router response header cleaning", () => {
  it("strips hop-by-hop headers and those the target names in Connection", () => {
    const headers: IncomingHttpHeaders = {
      connection: "keep-alive, x-internal",
      "keep-alive": "timeout=5",
      "transfer-encoding": "chunked",
      "x-internal": "1",
      "content-type": "text/event-stream",
    };
    assert.deepEqual(cleanResponseHeaders(headers, "appgw_token"), {
      "content-type": "text/event-stream",
    });
  });

  it("drops Set-Cookie for the auth and affinity cookies, alone or among others", () => {
    const many: IncomingHttpHeaders = {
      "set-cookie": ["appgw_token=evil; Path=/", "session=1; HttpOnly", "appgw_aff_x=forged"],
    };
    assert.deepEqual(cleanResponseHeaders(many, "appgw_token")["set-cookie"], [
      "session=1; HttpOnly",
    ]);
    // undici hands a lone Set-Cookie over as a string.
    const one = { "set-cookie": "appgw_token=evil" } as unknown as IncomingHttpHeaders;
    assert.equal("set-cookie" in cleanResponseHeaders(one, "appgw_token"), false);
  });
});

describe("router cookie helpers", () => {
  it("reads a cookie by exact name", () => {
    assert.equal(getCookie("a=1; appgw_token=tok; b=2", "appgw_token"), "tok");
    assert.equal(getCookie("xappgw_token=no", "appgw_token"), undefined);
    assert.equal(getCookie('q="quoted"', "q"), "quoted");
    assert.equal(getCookie(undefined, "q"), undefined);
  });

  it("names the cookie a Set-Cookie sets as a browser does: empty for a nameless one", () => {
    assert.equal(setCookieName("a=1; Path=/"), "a");
    assert.equal(setCookieName(" a \t=1"), "a");
    assert.equal(setCookieName("a=b=c"), "a");
    assert.equal(setCookieName("=a=1; Path=/"), "");
    assert.equal(setCookieName("a; b=c"), "");
    assert.equal(setCookieName(";a=1"), "");
  });

  it("removes the selected cookies and keeps the rest in order", () => {
    assert.equal(
      removeCookies("a=1; b=2;c=3", (n) => n === "b"),
      "a=1; c=3",
    );
    assert.equal(
      removeCookies("b=2", (n) => n === "b"),
      undefined,
    );
  });
});

// Properties of the router's request handling, for random inputs (fast-check prints the seed and
// the shrunk counterexample of a failure): a request never reaches a route it does not match,
// and no client-sent header that any common server would read as one of the router's own
// reaches an app. The real functions are tested: normalizeRequestTarget, buildRouteTable,
// lookupRoute and upstreamRequestHeaders.
import assert from "node:assert/strict";
import fc from "fast-check";
import { upstreamRequestHeaders, type ForwardContext } from "../../gateway/router/headers";
import { normalizeRequestTarget } from "../../gateway/router/path";
import { buildRouteTable, lookupRoute, type RouteTable } from "../../gateway/router/table";
import { routeConfig } from "../router/fixtures";

const RUNS = { numRuns: 2000 };

function table(routes: { path?: string; subdomain?: string }[], domain: string): RouteTable {
  return buildRouteTable(
    {
      revision: 1,
      routes: routes.map((r, i) => routeConfig({ id: `r${i}`, name: `r${i}`, ...r })),
      services: [],
      members: {},
    },
    { routerUrl: `http://${domain}`, domain },
  );
}

describe("security properties: path normalisation and route matching", () => {
  /** Segments a route path may have (the control API's rule) that requests also use. */
  const WORDS = ["a", "b", "llm", "v1", "x.y", "~u", "-", "...", ".a", "a."];
  const routePath = fc
    .array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 3 })
    .map((segs) => `/${segs.join("/")}`);
  /**
   * Request targets: segments made of route words, dot segments in every encoding, and now and
   * then escapes, separators and characters that have bypassed prefix routing elsewhere.
   */
  const DOTS = ["", ".", "..", "%2e", "%2E", "%2e%2e", ".%2e", "%2e.", "..;", ".;x"];
  const HOSTILE = [
    ...["/", "//", "\\", ";", "%3B", "?", "#", "%2f", "%2F", "%5c", "%5C", "%00"],
    ...["%", "%2", "%zz", "%25", "%252e", "%252f", "%25%32%65", "%41", "%7e", "%7E"],
    ...["%C3%A9", "é", "\u00ff", "\u0100", "日本", "\u{1f600}", " ", "\t", "+", ":", "@", "&", "="],
  ];
  const piece = fc.oneof(
    { arbitrary: fc.constantFrom(...WORDS), weight: 6 },
    { arbitrary: fc.constantFrom(...DOTS), weight: 4 },
    { arbitrary: fc.constantFrom(...HOSTILE), weight: 1 },
    { arbitrary: fc.string({ maxLength: 3 }), weight: 1 },
  );
  const segment = fc.array(piece, { maxLength: 2 }).map((p) => p.join(""));
  const target = fc
    .tuple(
      fc.oneof(
        { arbitrary: fc.constant("/"), weight: 12 },
        { arbitrary: fc.constantFrom("", "//", "http://a/", "*"), weight: 1 },
      ),
      fc.array(segment, { maxLength: 6 }),
    )
    .map(([start, segments]) => start + segments.join("/"));

  /** A canonical path: '/'-separated pchars and upper-case escapes, no empty inner segment. */
  const CANONICAL =
    /^\/(?:(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-F]{2})+\/)*(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-F]{2})*$/;

  it("normalises to an idempotent canonical path without dot segments", () => {
    fc.assert(
      fc.property(target, (raw) => {
        const n = normalizeRequestTarget(raw);
        if (!n.ok) return;
        assert.match(n.path, CANONICAL);
        for (const seg of n.path.split("/")) {
          assert.ok(seg !== "." && seg !== "..", `dot segment in ${n.path}`);
        }
        assert.deepEqual(normalizeRequestTarget(n.path), { ok: true, path: n.path, query: "" });
      }),
      RUNS,
    );
  });

  it("resolves a request only to the longest route prefix its normalised path starts with at a segment boundary", () => {
    // Most targets start with a route's path, so traversals out of it and into it are tried.
    const routesAndTarget = fc
      .uniqueArray(routePath, { minLength: 1, maxLength: 6 })
      .chain((paths) =>
        fc.tuple(
          fc.constant(paths),
          fc.oneof(
            target,
            fc.tuple(fc.constantFrom(...paths), target).map(([p, t]) => p + t),
            fc.tuple(fc.constantFrom(...paths), segment, target).map(([p, s, t]) => p + s + t),
          ),
        ),
      );
    fc.assert(
      fc.property(routesAndTarget, ([paths, raw]) => {
        const n = normalizeRequestTarget(raw);
        if (!n.ok) return;
        const match = lookupRoute(
          table(
            paths.map((path) => ({ path })),
            "gw.test",
          ),
          "gw.test",
          n.path,
        );
        const matching = paths.filter((p) => n.path === p || n.path.startsWith(`${p}/`));
        if (matching.length === 0) {
          assert.equal(match, null, `${n.path} reached ${match?.route.prefix}`);
          return;
        }
        const longest = matching.reduce((a, b) => (b.length > a.length ? b : a));
        assert.ok(match !== null, `${n.path} reached no route`);
        assert.equal(match.route.prefix, longest);
        // The app sees the rest of the same path, nothing else.
        assert.equal(n.path === longest ? "/" : n.path.slice(longest.length), match.forwardPath);
      }),
      RUNS,
    );
  });

  it("matches a subdomain route only when its subdomain is exactly the Host's first label under the router domain", () => {
    const DOMAIN = "apps.example";
    const LABELS = ["a", "b", "llm", "x-1", "0", "ab"];
    const label = fc.oneof(
      { arbitrary: fc.mixedCase(fc.constantFrom(...LABELS)), weight: 4 },
      fc.mixedCase(fc.constantFrom("evil", "", "*", "%2e", "a_b", "[::1]")),
      fc.string({ maxLength: 4 }),
    );
    const labels = fc.oneof(
      { arbitrary: label.map((l) => [l]), weight: 3 },
      fc.array(label, { maxLength: 3 }),
    );
    const domainPart = fc.mixedCase(
      fc.oneof(
        { arbitrary: fc.constantFrom(DOMAIN, `${DOMAIN}.`), weight: 3 },
        fc.constantFrom(
          `${DOMAIN}..`,
          `${DOMAIN}x`,
          `x${DOMAIN}`,
          `${DOMAIN}.evil`,
          "apps..example",
          "apps",
          "example",
          "",
        ),
      ),
    );
    const port = fc.oneof(
      { arbitrary: fc.constantFrom("", ":8080"), weight: 3 },
      fc.constantFrom(":80", ":", ":x", ":80:90", `:a.${DOMAIN}`, `.${DOMAIN}`),
    );
    const host = fc.oneof(
      { arbitrary: fc.constant(undefined), weight: 1 },
      { arbitrary: fc.string({ maxLength: 20 }), weight: 1 },
      {
        arbitrary: fc
          .tuple(labels, domainPart, port)
          .map(([ls, domain, p]) => [...ls, domain].join(".") + p),
        weight: 8,
      },
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom(...LABELS), { minLength: 1, maxLength: 4 }),
        host,
        (subs, h) => {
          const match = lookupRoute(
            table(
              subs.map((subdomain) => ({ subdomain })),
              DOMAIN,
            ),
            h,
            "/x",
          );
          // The host name is what precedes the port; one trailing dot names the same host.
          const name = (h ?? "").toLowerCase().split(":")[0]!.replace(/\.$/, "");
          const dot = name.indexOf(".");
          const first = name.slice(0, dot);
          const under = dot > 0 && name.slice(dot + 1) === DOMAIN && subs.includes(first);
          if (match === null) {
            assert.ok(!under, `${h} reached no route`);
            return;
          }
          assert.ok(under, `${h} reached ${match.route.host}`);
          assert.equal(match.route.kind, "subdomain");
          assert.equal(match.route.host, `${first}.${DOMAIN}`);
          assert.equal(match.forwardPath, "/x");
        },
      ),
      RUNS,
    );
  });
});

describe("security properties: headers an app receives", () => {
  /** Headers the router owns, as apps read them. */
  const OWNED = [
    "x-appgw-user",
    "x-appgw-user-id",
    "forwarded",
    "x-real-ip",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-prefix",
    "x-forwarded-port",
    "x-forwarded-server",
  ];
  /**
   * A header name as the most lenient server keys it: case and punctuation ignored. WSGI and CGI
   * fold '-' and '_' together, others fold or drop further punctuation; this folds all of it.
   */
  const fold = (name: string) => name.toLowerCase().replace(/[^a-z0-9]/g, "");
  const ownedFolded = (name: string) => {
    const f = fold(name);
    return OWNED.some((o) => fold(o) === f) || f.startsWith("xforwarded");
  };
  const HOP_BY_HOP = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-authorization",
    "proxy-authenticate",
  ];

  /** Token characters that are not letters or digits (RFC 9110 tchar). */
  const PUNCTUATION = "!#$%&'*+-.^_`|~";
  const separators = fc.string({
    unit: fc.constantFrom(...PUNCTUATION),
    minLength: 1,
    maxLength: 3,
  });
  /** An owned name respelled: random case, each '-' any run of separators, some around it. */
  const respelled = fc
    .tuple(
      fc.constantFrom(...OWNED),
      fc.array(separators, { minLength: 4, maxLength: 4 }),
      fc.option(separators),
      fc.option(separators),
    )
    .chain(([name, seps, before, after]) => {
      const parts = name.split("-");
      const body = parts.reduce((acc, part, i) => acc + seps[(i - 1) % seps.length] + part);
      return fc.mixedCase(fc.constant((before ?? "") + body + (after ?? "")));
    });
  const token = fc.string({
    unit: fc.constantFrom(
      ..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
      ...PUNCTUATION,
    ),
    minLength: 1,
    maxLength: 16,
  });
  const otherName = fc.oneof(
    token.filter((n) => !["cookie", "authorization"].includes(n.toLowerCase())),
    fc.constantFrom("Host", "Accept", "User-Agent", "X-Request-Id", "Expect", "TE", "Upgrade"),
  );
  const header = fc.tuple(fc.oneof(respelled, otherName), fc.string({ maxLength: 8 }));

  const request = fc
    .tuple(fc.array(header, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 4 }))
    .map(([headers, picks]) => {
      // A Connection header naming some of the request's own headers, and a token of its own.
      const named = picks.map((p) =>
        headers.length === 0 ? "close" : headers[p % headers.length]![0],
      );
      const raw = headers.flat();
      raw.splice(
        (2 * (picks[0] ?? 0)) % (raw.length + 2),
        0,
        "Connection",
        [...named, "close"].join(" ,"),
      );
      return raw;
    });
  const user = fc.record({
    id: fc.stringMatching(/^[0-9a-f]{1,32}$/),
    name: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,20}$/),
  });

  it("passes no client header that folds to one the router owns, and sets the router's own exactly once", () => {
    fc.assert(
      fc.property(
        request,
        fc.option(user),
        fc.constantFrom("", "/llm"),
        fc.constantFrom("http", "https"),
        (raw, who, prefix, proto) => {
          const ctx: ForwardContext = {
            clientIp: "192.0.2.7",
            proto,
            prefix,
            user: who,
            dropAuthorization: false,
            authCookie: "appgw_token",
          };
          const out = upstreamRequestHeaders(raw, ctx);

          const named = new Set<string>();
          for (let i = 0; i < raw.length; i += 2) {
            if (raw[i]!.toLowerCase() !== "connection") continue;
            for (const t of raw[i + 1]!.split(",")) named.add(t.trim().toLowerCase());
          }
          let host: string | undefined;
          const expectedOthers: string[] = [];
          for (let i = 0; i < raw.length; i += 2) {
            const name = raw[i]!;
            const lower = name.toLowerCase();
            if (ownedFolded(name) || HOP_BY_HOP.includes(lower) || named.has(lower)) continue;
            if (lower === "expect") continue;
            if (lower === "host") {
              if (host !== undefined) continue;
              host = raw[i + 1]!;
            }
            expectedOthers.push(name, raw[i + 1]!);
          }
          const expectedOwn = new Map<string, string[]>([
            ["xforwardedfor", [ctx.clientIp]],
            ["xforwardedproto", [proto]],
          ]);
          if (host !== undefined) expectedOwn.set("xforwardedhost", [host]);
          if (prefix) expectedOwn.set("xforwardedprefix", [prefix]);
          if (who) {
            expectedOwn.set("xappgwuser", [who.name]);
            expectedOwn.set("xappgwuserid", [who.id]);
          }

          const own = new Map<string, string[]>();
          const others: string[] = [];
          for (let i = 0; i < out.length; i += 2) {
            if (ownedFolded(out[i]!)) {
              const f = fold(out[i]!);
              own.set(f, [...(own.get(f) ?? []), out[i + 1]!]);
            } else {
              others.push(out[i]!, out[i + 1]!);
            }
          }
          assert.deepEqual(own, expectedOwn);
          assert.deepEqual(others, expectedOthers);
        },
      ),
      RUNS,
    );
  });
});

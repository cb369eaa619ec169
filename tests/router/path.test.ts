import assert from "node:assert/strict";
import { encodeSegment, normalizeRequestTarget } from "../../gateway/router/path";

function pathOf(target: string): string {
  const r = normalizeRequestTarget(target);
  assert.ok(r.ok, `${target} was refused: ${r.ok ? "" : r.reason}`);
  return r.path;
}

function refused(target: string): string {
  const r = normalizeRequestTarget(target);
  assert.ok(!r.ok, `${target} was accepted as ${r.ok ? r.path : ""}`);
  return r.reason;
}

describe("router path normalisation", () => {
  it("keeps canonical paths and the query as they are", () => {
    assert.deepEqual(normalizeRequestTarget("/llm/v1/chat?stream=true&x=%2F"), {
      ok: true,
      path: "/llm/v1/chat",
      query: "?stream=true&x=%2F",
    });
    assert.equal(pathOf("/"), "/");
    assert.equal(pathOf("/app/"), "/app/");
    assert.equal(pathOf("/a/b;c=d/e:f@g"), "/a/b;c=d/e:f@g");
  });

  it("resolves '..' so /app/../admin matches /admin, not /app", () => {
    assert.equal(pathOf("/app/../admin"), "/admin");
    assert.equal(pathOf("/app/x/../../admin"), "/admin");
  });

  it("decodes %2e%2e in any case before resolving it", () => {
    assert.equal(pathOf("/app/%2e%2e/admin"), "/admin");
    assert.equal(pathOf("/app/%2E%2E/admin"), "/admin");
    assert.equal(pathOf("/app/.%2e/admin"), "/admin");
    assert.equal(pathOf("/app/%2e/x"), "/app/x");
  });

  it("refuses encoded slashes and backslashes in any case", () => {
    for (const t of [
      "/app%2fadmin",
      "/app%2Fadmin",
      "/app%5cadmin",
      "/app%5Cadmin",
      "/app/%2F../x",
    ]) {
      assert.match(refused(t), /encoded/);
    }
  });

  it("refuses raw backslashes", () => {
    assert.match(refused("/app\\admin"), /backslash/);
    assert.match(refused("/app/..\\admin"), /backslash/);
  });

  it("refuses dot segments with ';' parameters (Tomcat's ..;)", () => {
    for (const t of [
      "/app/..;/admin",
      "/app/.;/x",
      "/app/%2e%2e;x/admin",
      "/app/..%3b/admin",
      "/app/..%3B/x",
    ]) {
      assert.match(refused(t), /';'/);
    }
  });

  it("allows ';' in ordinary segments", () => {
    assert.equal(pathOf("/app/file;v=1"), "/app/file;v=1");
    assert.equal(pathOf("/app/...;x"), "/app/...;x");
  });

  it("refuses '..' that climbs above the root", () => {
    assert.match(refused("/.."), /above the root/);
    assert.match(refused("/app/../../etc/passwd"), /above the root/);
    assert.match(refused("/%2e%2e/x"), /above the root/);
  });

  it("collapses empty segments, so //app is /app", () => {
    assert.equal(pathOf("//app"), "/app");
    assert.equal(pathOf("/app//x///y"), "/app/x/y");
    assert.equal(pathOf("//"), "/");
  });

  it("drops '.' segments", () => {
    assert.equal(pathOf("/app/./x"), "/app/x");
    assert.equal(pathOf("/./app"), "/app");
  });

  it("ends with '/' when the last segment was '.', '..' or empty", () => {
    assert.equal(pathOf("/app/x/.."), "/app/");
    assert.equal(pathOf("/app/."), "/app/");
    assert.equal(pathOf("/app/x//"), "/app/x/");
  });

  it("refuses malformed percent-encoding and NUL", () => {
    assert.match(refused("/app/%zz"), /malformed/);
    assert.match(refused("/app/%2"), /malformed/);
    assert.match(refused("/app/%"), /malformed/);
    assert.match(refused("/app/%00"), /NUL/);
    assert.match(refused("/app/\0x"), /control/);
    assert.match(refused("/app?x=\0"), /NUL/);
  });

  it("refuses absolute-form, authority-form, asterisk and fragment targets", () => {
    refused("http://evil.example/app");
    refused("evil.example:443");
    refused("*");
    refused("");
    refused("/app#frag");
  });

  it("re-encodes consistently: unreserved escapes decoded, others upper-case, unsafe bytes escaped", () => {
    assert.equal(pathOf("/app/%41%7e"), "/app/A~");
    assert.equal(pathOf("/app/a%3fb"), "/app/a%3Fb");
    assert.equal(pathOf("/app/a%20b"), "/app/a%20b");
    assert.equal(pathOf('/app/"<>|{}`^'), "/app/%22%3C%3E%7C%7B%7D%60%5E");
    // Node hands non-ASCII request-line bytes over as latin1 characters.
    assert.equal(pathOf("/app/\u00c3\u00a9"), "/app/%C3%A9");
    assert.equal(pathOf("/app/%c3%a9"), "/app/%C3%A9");
  });

  it("normalises to a fixed point: normalising twice changes nothing", () => {
    for (const t of ["/a/%2e%2e/b/./c//d/", "/x/%7euser/%c3%a9?q", "/a/b/../c"]) {
      const once = pathOf(t);
      assert.equal(pathOf(once), once);
    }
  });

  it("encodes route segments the way request paths are normalised", () => {
    assert.equal(encodeSegment("abc-123_x.y~"), "abc-123_x.y~");
    assert.equal(encodeSegment("a b/c"), "a%20b%2Fc");
    assert.equal(encodeSegment("é"), "%C3%A9");
    assert.equal(
      pathOf(`/service/${encodeSegment("task:1")}`),
      `/service/${encodeSegment("task:1")}`,
    );
  });
});

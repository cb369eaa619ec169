import assert from "node:assert/strict";
import { safeNext } from "../../gateway/same-origin";

describe("router login redirect target", () => {
  it("accepts a relative path with its query", () => {
    assert.equal(safeNext("/llm/v1?x=1&y=%2F"), "/llm/v1?x=1&y=%2F");
    assert.equal(safeNext("/"), "/");
  });

  it("refuses protocol-relative and absolute URLs (open redirects)", () => {
    for (const next of [
      "//evil.example",
      "/\\evil.example",
      "https://evil.example",
      "evil.example",
      "javascript:alert(1)",
    ]) {
      assert.equal(safeNext(next), "/", next);
    }
  });

  it("refuses backslashes, whitespace and control characters that browsers rewrite", () => {
    for (const next of ["/\t/evil.example", "/\n/evil.example", "/a\\b", "/ /evil", "/\u00e9"]) {
      assert.equal(safeNext(next), "/", JSON.stringify(next));
    }
  });

  it("falls back to / when there is no next", () => {
    assert.equal(safeNext(null), "/");
    assert.equal(safeNext(undefined), "/");
    assert.equal(safeNext(""), "/");
  });
});

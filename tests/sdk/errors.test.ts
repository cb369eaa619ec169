import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {
  AuthenticationError,
  ConflictError,
  ConnectionError,
  ERROR_CODES,
  appgwError,
  hasCode,
} from "../../sdk";

describe("error codes", () => {
  it("documents every code in docs/errors.md with its status and subcode", () => {
    const doc = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "errors.md"), "utf8");
    for (const [code, { status, subcode }] of Object.entries(ERROR_CODES)) {
      const cells = doc
        .split("\n")
        .map((line) => line.split("|").map((c) => c.trim()))
        .find((c) => c[1] === `\`${code}\``);
      assert.ok(cells, `${code} is documented`);
      assert.equal(cells[2], status ? String(status) : "–", `${code} status`);
      assert.equal(cells[3], String(subcode), `${code} subcode`);
    }
  });

  it("gives every subcode to one code only", () => {
    const used = Object.values(ERROR_CODES)
      .map((e) => e.subcode)
      .filter((s) => s !== 0);
    assert.equal(new Set(used).size, used.length);
  });

  it("picks the subclass from the status, and matches on code across module copies", () => {
    assert.ok(appgwError("APPGW_ROUTE_ENABLED") instanceof ConflictError);
    assert.ok(appgwError("APPGW_TOKEN_EXPIRED") instanceof AuthenticationError);
    assert.ok(appgwError("APPGW_CONNECTION") instanceof ConnectionError);
    assert.ok(
      hasCode({ code: "APPGW_ROUTE_ENABLED" }, "APPGW_ROUTE_ENABLED"),
      "a plain object from another copy",
    );
  });
});

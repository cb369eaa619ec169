import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {
  AppGatewayError,
  AuthenticationError,
  BadResponseError,
  ConnectionError,
  ERROR_CODES,
  InternalError,
  InvalidRequestError,
  NotFoundError,
  PermissionError,
  appgwError,
  classify,
  hasCode,
  isAuthFailure,
  isErrorCode,
  type ErrorCode,
} from "@appgw/sdk";

/** The pairs of ClearML's error table (clearml-api.md) that the SDK gives a code of their own. */
const CLEARML_PAIRS: Record<string, ErrorCode> = {
  "400/10": "APPGW_INVALID_ID",
  "400/11": "APPGW_MISSING_FIELDS",
  "400/12": "APPGW_INVALID_REQUEST",
  "400/101": "APPGW_TASK_NOT_FOUND",
  "400/110": "APPGW_TASK_STATE",
  "400/301": "APPGW_USER_NOT_FOUND",
  "400/401": "APPGW_PROJECT_NOT_FOUND",
  "400/701": "APPGW_QUEUE_NOT_FOUND",
  "400/702": "APPGW_QUEUE_NOT_EMPTY",
  "400/707": "APPGW_NO_DEFAULT_QUEUE",
  "400/801": "APPGW_ALREADY_EXISTS",
  "401/20": "APPGW_UNAUTHORIZED",
  "401/21": "APPGW_BAD_CREDENTIALS",
  "401/22": "APPGW_INVALID_CREDENTIALS",
  "401/30": "APPGW_INVALID_TOKEN",
  "401/31": "APPGW_BLOCKED_TOKEN",
  "403/20": "APPGW_FORBIDDEN",
  "403/21": "APPGW_NO_WRITE_PERMISSION",
  "404/0": "APPGW_UNKNOWN_ENDPOINT",
  "500/0": "APPGW_INTERNAL",
};

const codes = Object.keys(ERROR_CODES) as ErrorCode[];

describe("error codes", () => {
  describe("docs/errors.md", () => {
    const doc = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "errors.md"), "utf8");
    const rows = doc
      .split("\n")
      .filter((line) => line.startsWith("| `APPGW_"))
      .map((line) => line.split("|").map((c) => c.trim()));

    it("has one row per code with its HTTP status, subcode and source", () => {
      for (const code of codes) {
        const { status, subcode, documented } = ERROR_CODES[code];
        const cells = rows.filter((c) => c[1] === `\`${code}\``);
        assert.equal(cells.length, 1, `${code} has one row`);
        const [, , http, sub, source] = cells[0]!;
        assert.equal(http, status ? String(status) : "–", `${code} status`);
        assert.equal(sub, documented || subcode ? String(subcode) : "–", `${code} subcode`);
        assert.equal(source === "ClearML", documented, `${code} source is ClearML iff documented`);
      }
    });

    it("names no code that sdk/errors.ts does not define", () => {
      const stale = rows.map((c) => c[1]!.replace(/`/g, "")).filter((c) => !isErrorCode(c));
      assert.deepEqual(stale, []);
    });
  });

  it("marks documented exactly the pairs of ClearML's error table the SDK classifies", () => {
    const documented = Object.fromEntries(
      codes
        .filter((c) => ERROR_CODES[c].documented)
        .map((c) => [`${ERROR_CODES[c].status}/${ERROR_CODES[c].subcode}`, c]),
    );
    assert.deepEqual(documented, CLEARML_PAIRS);
  });

  it("gives each status/subcode pair of the control API to one code only", () => {
    const controlApi = codes.filter((c) => ERROR_CODES[c].documented || ERROR_CODES[c].subcode);
    const pairs = controlApi.map((c) => `${ERROR_CODES[c].status}/${ERROR_CODES[c].subcode}`);
    assert.equal(new Set(pairs).size, pairs.length, pairs.join(", "));
  });

  it("classifies each documented pair to its own code", () => {
    for (const [pair, code] of Object.entries(CLEARML_PAIRS)) {
      const [status, subcode] = pair.split("/").map(Number);
      assert.equal(classify(status!, subcode!), code, pair);
    }
  });

  it("classifies any other pair as the generic code of its status", () => {
    assert.equal(classify(400, 1234), "APPGW_BAD_REQUEST");
    assert.equal(classify(400, 16), "APPGW_BAD_REQUEST", "documented by ClearML, not classified");
    assert.equal(classify(400, 1101), "APPGW_BAD_REQUEST", "the reference gateway's own subcode");
    assert.equal(classify(400, 0), "APPGW_BAD_REQUEST");
    assert.equal(classify(401, 10), "APPGW_UNAUTHORIZED");
    assert.equal(classify(403, 0), "APPGW_FORBIDDEN");
    assert.equal(classify(404, 5), "APPGW_UNKNOWN_ENDPOINT");
    assert.equal(classify(500, 1), "APPGW_INTERNAL");
    assert.equal(classify(502, 0), "APPGW_INTERNAL");
    assert.equal(classify(409, 0), "APPGW_BAD_RESPONSE", "a status ClearML never sends");
  });

  it("picks the subclass from the wire status, keeping the wire subcode", () => {
    const cases: [AppGatewayError, new (...a: any[]) => AppGatewayError][] = [
      [appgwError("APPGW_TASK_NOT_FOUND"), InvalidRequestError],
      [
        appgwError("APPGW_BAD_REQUEST", "x", {}, { status: 400, subcode: 1234 }),
        InvalidRequestError,
      ],
      [appgwError("APPGW_INVALID_TOKEN"), AuthenticationError],
      [appgwError("APPGW_NO_WRITE_PERMISSION"), PermissionError],
      [appgwError("APPGW_UNKNOWN_ENDPOINT"), NotFoundError],
      [appgwError("APPGW_INTERNAL", "x", {}, { status: 503, subcode: 0 }), InternalError],
      [appgwError("APPGW_UPSTREAM_TIMEOUT"), InternalError],
      [appgwError("APPGW_CONNECTION"), ConnectionError],
      [appgwError("APPGW_BAD_RESPONSE", "x", {}, { status: 502, subcode: 0 }), BadResponseError],
    ];
    for (const [err, Cls] of cases) {
      assert.ok(err instanceof Cls, `${err.code} is a ${Cls.name}, not ${err.constructor.name}`);
      assert.ok(err instanceof Error);
    }
    const unclassified = cases[1]![0];
    assert.equal(unclassified.statusCode, 400);
    assert.equal(unclassified.subcode, 1234);
    const method = appgwError("APPGW_METHOD_NOT_ALLOWED");
    assert.equal(method.constructor, AppGatewayError, "no subclass for a 405");
    assert.equal(method.statusCode, 405);
  });

  it("defaults the message from the table and exposes details.field as field", () => {
    const err = appgwError("APPGW_QUEUE_NOT_EMPTY", undefined, { field: "queue" });
    assert.equal(err.message, "Queue not empty");
    assert.equal(err.field, "queue");
    assert.equal(err.name, "InvalidRequestError");
    assert.equal(err.subcode, 702);
  });

  it("matches on code and status across module copies (plain objects)", () => {
    assert.ok(hasCode({ code: "APPGW_INVALID_TOKEN" }, "APPGW_INVALID_TOKEN"));
    assert.ok(!hasCode({ code: "APPGW_INVALID_TOKEN" }, "APPGW_BLOCKED_TOKEN"));
    assert.ok(!hasCode(null, "APPGW_INTERNAL"));
    assert.ok(isAuthFailure({ statusCode: 401 }));
    assert.ok(isAuthFailure(appgwError("APPGW_BLOCKED_TOKEN")));
    assert.ok(!isAuthFailure(appgwError("APPGW_FORBIDDEN")));
    assert.ok(!isAuthFailure(new Error("401")));
  });
});

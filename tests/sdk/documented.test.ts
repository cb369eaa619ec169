// The contract marks an action documented by naming its reference page; this checks that claim
// against the project's own list of ClearML's reference (tests/sdk/reference.ts, written from the
// public pages), so a made-up endpoint cannot pass by being marked documented.
import assert from "node:assert/strict";
import { DOCS, DOCUMENTED_ACTIONS, OBSERVED_ACTIONS } from "@appgw/sdk";
import { REFERENCE_PAGES } from "./reference";

const pageOf = new Map(
  Object.entries(REFERENCE_PAGES).flatMap(([page, names]) => names.map((n) => [n, page] as const)),
);

describe("actions the contract marks documented", () => {
  it("are each on the ClearML reference page the contract names", () => {
    const wrong = [...DOCUMENTED_ACTIONS].filter(([action, page]) => pageOf.get(action) !== page);
    assert.deepEqual(
      wrong.map(([a, p]) => `${a} (${p}; reference: ${pageOf.get(a) ?? "none"})`),
      [],
      "marked documented, but not on that page",
    );
  });

  it("name the reference page of their own service", () => {
    for (const [action, page] of DOCUMENTED_ACTIONS) {
      const service = action.split(".")[0] as keyof typeof DOCS;
      assert.equal(page, DOCS[service], action);
    }
  });

  it("leave the calls observed from ClearML's clients marked as such, never as documented", () => {
    for (const [action, client] of OBSERVED_ACTIONS) {
      assert.ok(!DOCUMENTED_ACTIONS.has(action), action);
      assert.ok(!pageOf.has(action), `${action} is documented: mark it so, not observed`);
      assert.match(client, /^clearml(-agent)? \d/, action);
    }
  });
});

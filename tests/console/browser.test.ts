// The settings page in a real browser (Debian's Chromium, driven by playwright-core) against a
// real gateway with its router and agent: a person signs in, manages a route, tests the router,
// and every page passes axe-core in light and dark. Each step asserts on what the person sees.
// `UPDATE_SCREENSHOTS=1` writes the screenshots to docs/images/ (README, docs/console.md).
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { MANAGED_BY_HEADER } from "@appgw/sdk";
import { eventually, startTestGateway, type TestGateway } from "../helpers/gateway";
import { axeViolations, describeViolations, launchChromium } from "./browser";

const SHOTS = process.env.UPDATE_SCREENSHOTS
  ? path.resolve(__dirname, "..", "..", "docs", "images")
  : fs.mkdtempSync(path.join(os.tmpdir(), "appgw-console-shots-"));
const SCHEMES = ["light", "dark"] as const;

describe("the settings page in Chromium", function () {
  this.timeout(120_000);
  let t: TestGateway;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const errors: string[] = [];

  before(async () => {
    [t, browser] = await Promise.all([startTestGateway(), launchChromium()]);
    context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    page = await context.newPage();
    page.on("pageerror", (err) => errors.push(err.message));
  });
  after(async () => {
    await browser?.close();
    await t?.stop();
  });
  afterEach(() => assert.deepEqual(errors.splice(0), [], "no script error in the page"));

  const ui = (p = "/ui/") => `${t.apiUrl}${p}`;
  const routeRow = (name: string) =>
    page.locator("#static-routes tbody tr", { has: page.locator(`th:text-is("${name}")`) });
  const text = async (selector: string) => (await page.locator(selector).innerText()).trim();

  /** Checks axe on the page as it is, in both colour schemes, and keeps a screenshot of each. */
  async function checkPage(name: string): Promise<void> {
    for (const scheme of SCHEMES) {
      await page.emulateMedia({ colorScheme: scheme });
      const violations = await axeViolations(page);
      assert.deepEqual(violations, [], `${name} (${scheme}):\n${describeViolations(violations)}`);
      await page.screenshot({
        path: path.join(SHOTS, `console-${name}-${scheme}.png`),
        fullPage: true,
      });
    }
    await page.emulateMedia({ colorScheme: "light" });
  }

  it("asks for a sign-in, says when the secret is wrong, then shows the gateway", async () => {
    await page.goto(ui());
    assert.match(page.url(), /\/ui\/login\?next=/);
    await checkPage("sign-in");
    await page.getByLabel("Access key").fill(t.admin.accessKey);
    await page.getByLabel("Secret key").fill("not-the-secret");
    await page.getByRole("button", { name: "Sign in" }).click();
    assert.equal(await text("[role=alert]"), "The access key or secret key is not right.");
    assert.equal(await page.getByLabel("Access key").inputValue(), t.admin.accessKey);

    await page.getByLabel("Secret key").fill(t.admin.secretKey);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Application Gateway" }).waitFor();
    assert.match(await text("header"), /Signed in as admin/);
    const router = page.locator("#routers tbody tr").first();
    assert.equal(await router.locator("th").innerText(), "router-1");
    assert.match(await router.innerText(), /Not tested/);
    // The session cookie is out of the page's scripts' reach.
    const cookie = (await context.cookies()).find((c) => c.name === "appgw_console");
    assert.ok(cookie?.httpOnly && cookie.sameSite === "Strict", JSON.stringify(cookie));
  });

  it("shows a validation error beside the field, keeps what was typed, then creates the route", async () => {
    await page.getByRole("link", { name: "+ Add Route" }).click();
    await page.getByRole("heading", { name: "Add New Route" }).waitFor();
    await page.getByLabel("Name").fill("llm");
    await page.getByLabel("Route URL path or subdomain").fill("llm");
    await page.getByRole("button", { name: "Create" }).click();

    const route = page.getByLabel("Route URL path or subdomain");
    assert.equal(await route.getAttribute("aria-invalid"), "true");
    assert.match(await text("#route-error"), /must begin with '\/'/);
    assert.equal(await page.getByLabel("Name").inputValue(), "llm", "the name is kept");
    assert.equal(await route.inputValue(), "llm", "the route is kept");
    await checkPage("add-route-error");

    await route.fill("/llm");
    await page.getByRole("button", { name: "Create" }).click();
    assert.equal(await text("[role=status]"), "Route llm created.");
    const row = routeRow("llm");
    assert.match(await row.innerText(), /<router url>\/llm\s+URL\s+Load balancing\s+Not In Use/);
    assert.equal(await row.getByRole("switch").getAttribute("aria-checked"), "true");
    assert.equal((await t.client.routes.findByName("llm"))?.path, "/llm", "stored by the API");
  });

  it("refuses to edit the route while it is enabled and shows its configuration instead", async () => {
    const row = routeRow("llm");
    assert.equal(await row.getByRole("link", { name: "Edit route llm" }).count(), 0);
    await row.getByRole("link", { name: "View route configuration of llm" }).click();
    assert.match(await text("main"), /This route is enabled, so it is view-only/);
    assert.equal(await page.getByRole("link", { name: "Edit" }).count(), 0);
    await checkPage("route-configuration");

    // Straight to the edit address: refused, and nothing is offered to save.
    const id = (await t.client.routes.findByName("llm"))!.id;
    const res = await page.goto(ui(`/ui/routes/${id}/edit`));
    assert.equal(res?.status(), 409);
    assert.match(await text("[role=alert]"), /can be edited only while it is disabled/);
    assert.equal(await page.getByRole("button", { name: "Save" }).count(), 0);
  });

  it("disables the route with its switch, then edits it", async () => {
    await page.goto(ui());
    await routeRow("llm").getByRole("switch", { name: "Route llm enabled" }).click();
    assert.equal(await text("[role=status]"), "Route llm disabled.");
    assert.equal(await routeRow("llm").getByRole("switch").getAttribute("aria-checked"), "false");

    await routeRow("llm").getByRole("link", { name: "Edit route llm" }).click();
    await page.getByRole("heading", { name: "Edit Route llm" }).waitFor();
    assert.equal(await page.getByLabel("Route URL path or subdomain").inputValue(), "/llm");
    await page.getByLabel("Route URL path or subdomain").fill("/models/llm");
    await page.getByLabel("Load Balanced").uncheck();
    await page.getByRole("button", { name: "Save" }).click();
    assert.equal(await text("[role=status]"), "Route llm saved.");
    assert.match(
      await routeRow("llm").innerText(),
      /<router url>\/models\/llm\s+URL\s+Single endpoint/,
    );
  });

  it("updates by itself when a task starts serving the route, and names the stack of a managed one", async () => {
    // A route a Pulumi stack made, as the provider writes it.
    await t.client.routes.save(
      {
        name: "notebooks",
        type: "subdomain",
        subdomain: "nb",
        auth_enabled: false,
        enabled: false,
      },
      {
        headers: { [MANAGED_BY_HEADER]: "tool=pulumi&stack=ml-platform%2Fprod&resource=notebooks" },
      },
    );
    await routeRow("llm").getByRole("switch", { name: "Route llm enabled" }).click();
    assert.equal(await routeRow("llm").getByRole("switch").getAttribute("aria-checked"), "true");
    const before = page.url();
    await t.client.startEcho({ queue: "default", name: "llm server", staticRoute: "llm" });
    // No reload: the page follows the gateway's revision and swaps the table in.
    const link = routeRow("llm").getByRole("link", { name: /\/models\/llm$/ });
    await link.waitFor({ timeout: 30_000 });
    assert.equal(page.url(), before, "the page was not reloaded");
    const row = await routeRow("llm").innerText();
    assert.match(row, /Routing/);
    assert.match(row, /llm server/);
    assert.match(row, /127\.0\.0\.1:\d+/, "the target is shown");
    assert.equal(await link.getAttribute("target"), "_blank");
    const managed = await routeRow("notebooks").innerText();
    assert.match(
      managed,
      /notebooks\s+Pulumi stack ml-platform\/prod\s+nb\.<router domain>\s+Subdomain/,
    );
    assert.match(managed, /Public/);
    await checkPage("overview");
  });

  it("puts a refused router test's reason beside the queue, and that page polls nothing", async () => {
    await page.goto(ui("/ui/routers/router-1"));
    const panel = page.locator("#router-panel");
    await panel.locator("summary", { hasText: "Test" }).click();
    await panel.getByLabel("Queue").fill("no-such-queue");
    const watches: string[] = [];
    const count = (req: { url(): string }) =>
      req.url().includes("/ui/watch") && watches.push(req.url());
    page.on("request", count);
    await panel.getByRole("button", { name: "Test", exact: true }).click();
    assert.equal(await text("#queue-error"), "the gateway has no queue named 'no-such-queue'");
    assert.equal(await panel.getByLabel("Queue").getAttribute("aria-invalid"), "true");
    // The page answers a post: fetching its address again would be a GET of a form's address.
    await page.waitForTimeout(2_500);
    page.off("request", count);
    assert.deepEqual(watches, []);
  });

  it("runs a router test on a queue and shows its details and log", async () => {
    await page.goto(ui());
    await page.locator("#routers").getByRole("link", { name: "router-1" }).click();
    const panel = page.locator("#router-panel");
    await panel.getByRole("heading", { name: "Router router-1" }).waitFor();
    assert.match(await panel.innerText(), /Router version\s+\d+\.\d+\.\d+/);
    assert.match(await panel.locator("table").innerText(), /llm server\s+http:\/\/\S+\s+admin/);
    await checkPage("router-info");

    await panel.locator("summary", { hasText: "Test" }).click();
    await panel.getByLabel("Queue").fill("default");
    await panel.getByRole("button", { name: "Test", exact: true }).click();
    // The verdict arrives while the person watches: the panel refreshes by itself.
    await page
      .locator("#router-panel dd .badge-passed")
      .waitFor({ timeout: 60_000 })
      .catch(async (err) => assert.fail(`${String(err)}\n${await panel.innerText()}`));
    const details = await panel.innerText();
    assert.match(
      details,
      /Status message\s+traffic through router 'router-1' reached the test task/,
    );
    assert.match(details, /Queue\s+default/);
    assert.match(details, /Worker\s+test-agent/);
    assert.match(details, /Test Task name\s+App Gateway router test: router-1/);
    assert.match(
      await text("#router-panel .log"),
      /created test task[\s\S]*the answer carries the test's nonce/,
    );
    assert.match(await page.locator("#routers tbody tr").first().innerText(), /Passed/);
    await checkPage("router-test");

    // The test task's name leads to the task: its state and its console, as ClearML's would.
    await panel.getByRole("link", { name: "App Gateway router test: router-1" }).click();
    await page.getByRole("heading", { name: "Task App Gateway router test: router-1" }).waitFor();
    assert.match(await text("main dl"), /Owner\s+admin/);
    assert.match(await text("main .log"), /the answer carries the test's nonce/);
    await checkPage("task");
  });

  it("deletes the route after a confirmation that says its active connections stop", async () => {
    await page.goto(ui());
    await routeRow("llm").getByRole("link", { name: "Delete route llm" }).click();
    const dialog = page.getByRole("alertdialog");
    assert.match(await dialog.innerText(), /stops every active connection through it/);
    await checkPage("delete-route");
    await dialog.getByRole("button", { name: "Delete" }).click();
    assert.equal(await text("[role=status]"), "Route deleted.");
    assert.equal(await routeRow("llm").count(), 0);
    assert.equal(await t.client.routes.findByName("llm"), undefined, "deleted in the API");
  });

  it("reaches every control with the keyboard", async () => {
    await t.client.routes.save({
      name: "kbd",
      type: "subdomain",
      subdomain: "kbd",
      enabled: false,
    });
    await page.goto(ui());
    const reached = new Set<string>();
    for (let i = 0; i < 80; i++) {
      await page.keyboard.press("Tab");
      reached.add(
        await page.evaluate(
          `(() => { const e = document.activeElement; return (e.getAttribute("aria-label") || e.textContent || "").trim(); })()`,
        ),
      );
    }
    for (const control of [
      "Skip to content",
      "Sign out",
      "router-1",
      "+ Add Route",
      "Route kbd enabled",
      "Edit route kbd",
      "Delete route kbd",
    ]) {
      assert.ok(
        reached.has(control),
        `${control} is reachable with Tab (reached: ${[...reached].join(" | ")})`,
      );
    }
    // Enter on the focused switch enables the route.
    await page.getByRole("switch", { name: "Route kbd enabled" }).focus();
    await page.keyboard.press("Enter");
    await eventually(
      async () =>
        (await routeRow("kbd").getByRole("switch").getAttribute("aria-checked")) === "true",
    );
  });

  it("reads without JavaScript", async () => {
    const plain = await browser.newContext({
      javaScriptEnabled: false,
      storageState: await context.storageState(),
    });
    try {
      const p = await plain.newPage();
      await p.goto(ui());
      assert.match(await p.locator("#routers").innerText(), /router-1\s+http:\/\/\S+\s+Passed/);
      assert.match(await p.locator("#static-routes").innerText(), /kbd/);
      await p.locator("#routers").getByRole("link", { name: "router-1" }).click();
      assert.match(await p.locator("#router-panel .log").innerText(), /reached the test task/);
    } finally {
      await plain.close();
    }
  });
});

import assert from "node:assert/strict";
import { routerConfigFromEnv } from "../../gateway/router/config";
import type { AppGatewayError } from "../../sdk/errors";

const required = {
  CLEARML_API_HOST: "http://127.0.0.1:8008/",
  CLEARML_API_ACCESS_KEY: "AK",
  CLEARML_API_SECRET_KEY: "secret",
};

function failure(env: NodeJS.ProcessEnv): AppGatewayError {
  try {
    routerConfigFromEnv(env);
  } catch (err) {
    return err as AppGatewayError;
  }
  assert.fail("expected the configuration to be refused");
}

describe("router configuration from the env", () => {
  it("fills ClearML's defaults", () => {
    assert.deepEqual(routerConfigFromEnv(required), {
      name: "router-1",
      url: "http://localhost:8080",
      port: 8080,
      host: "127.0.0.1",
      domain: "localhost",
      apiHost: "http://127.0.0.1:8008",
      accessKey: "AK",
      secretKey: "secret",
      cookieName: "appgw_token",
      secureCookies: false,
      queues: [],
      tcp: null,
      limits: {
        maxBodySize: 1024 ** 3,
        routeMaxBodySize: new Map(),
        headersTimeoutMs: 20_000,
        bodyTimeoutMs: 20_000,
        bodyMinRate: 500,
        idleTimeoutMs: 30_000,
        keepAliveTimeoutMs: 65_000,
        maxConnections: 10_000,
        maxConnectionsPerAddress: 1024,
      },
      loginLimits: { perKey: 10, perAddress: 50, windowSec: 900 },
      targetFailTimeoutMs: 10_000,
    });
  });

  it("reads every variable", () => {
    const config = routerConfigFromEnv({
      ...required,
      ROUTER_NAME: "edge",
      ROUTER_URL: "https://gw.example/",
      ROUTER__WEBSERVER__SERVER_PORT: "9000",
      ROUTER_HOST: "0.0.0.0",
      ROUTER_DOMAIN: "Apps.Example.",
      AUTH_COOKIE_NAME: "sid",
      AUTH_SECURE_ENABLED: "TRUE",
      LISTEN_QUEUE_NAME: " gpu  cpu ",
      TCP_ROUTER_ADDRESS: "203.0.113.5",
      TCP_PORT_START: "10000",
      TCP_PORT_END: "10010",
    });
    assert.equal(config.name, "edge");
    assert.equal(config.url, "https://gw.example");
    assert.equal(config.port, 9000);
    assert.equal(config.host, "0.0.0.0");
    assert.equal(config.domain, "apps.example");
    assert.equal(config.cookieName, "sid");
    assert.equal(config.secureCookies, true);
    assert.deepEqual(config.queues, ["gpu", "cpu"]);
    assert.deepEqual(config.tcp, { address: "203.0.113.5", portStart: 10000, portEnd: 10010 });
  });

  it("reads the limits: sizes with binary units, seconds with fractions, 0 to turn a limit off", () => {
    const config = routerConfigFromEnv({
      ...required,
      APPGW_MAX_BODY_SIZE: "512k",
      APPGW_ROUTE_MAX_BODY_SIZE: " llm=10g, my upload=50G ,raw=123 ,",
      APPGW_HEADERS_TIMEOUT: "2.5",
      APPGW_BODY_TIMEOUT: "0",
      APPGW_BODY_MIN_RATE: "1k",
      APPGW_IDLE_TIMEOUT: "0",
      APPGW_KEEPALIVE_TIMEOUT: "5",
      APPGW_MAX_CONNECTIONS: "0",
      APPGW_MAX_CONNECTIONS_PER_ADDRESS: "16",
      APPGW_TARGET_FAIL_TIMEOUT: "0.5",
    });
    assert.deepEqual(config.limits, {
      maxBodySize: 512 * 1024,
      routeMaxBodySize: new Map([
        ["llm", 10 * 1024 ** 3],
        ["my upload", 50 * 1024 ** 3],
        ["raw", 123],
      ]),
      headersTimeoutMs: 2500,
      bodyTimeoutMs: 0,
      bodyMinRate: 1024,
      idleTimeoutMs: 0,
      keepAliveTimeoutMs: 5000,
      maxConnections: 0,
      maxConnectionsPerAddress: 16,
    });
    assert.equal(config.targetFailTimeoutMs, 500);
  });

  it("refuses a bad limit, naming the setting and the expected form", () => {
    const cases: [string, string, RegExp][] = [
      ["APPGW_MAX_BODY_SIZE", "10 MB", /must be a size such as 512k, 10m or 1g/],
      ["APPGW_MAX_BODY_SIZE", "1.5g", /got '1.5g'/],
      ["APPGW_ROUTE_MAX_BODY_SIZE", "llm:10g", /<route name>=<size>.*got 'llm:10g'/],
      ["APPGW_ROUTE_MAX_BODY_SIZE", "llm=lots", /got 'llm=lots'/],
      ["APPGW_ROUTE_MAX_BODY_SIZE", "-bad=1g", /got '-bad=1g'/],
      ["APPGW_ROUTE_MAX_BODY_SIZE", "llm=1g,llm=2g", /names route 'llm' twice/],
      ["APPGW_HEADERS_TIMEOUT", "0", /above 0/],
      ["APPGW_HEADERS_TIMEOUT", "20s", /number of seconds/],
      ["APPGW_IDLE_TIMEOUT", "-1", /number of seconds from 0 \(off\)/],
      ["APPGW_KEEPALIVE_TIMEOUT", "100000", /to 86400/],
      ["APPGW_BODY_MIN_RATE", "0", /APPGW_BODY_TIMEOUT=0/],
      ["APPGW_MAX_CONNECTIONS", "many", /whole number, 0 for no limit/],
      ["APPGW_MAX_CONNECTIONS_PER_ADDRESS", "1.5", /whole number/],
      ["APPGW_TARGET_FAIL_TIMEOUT", "0", /above 0/],
      // Past a day Node's timers overflow and the login page would have no limit at all.
      ["APPGW_LOGIN_WINDOW_SEC", "2592000", /from 1 to 86400/],
      ["APPGW_LOGIN_FAILURES_PER_KEY", "0", /from 1 to/],
    ];
    for (const [field, value, reason] of cases) {
      const err = failure({ ...required, [field]: value });
      assert.equal(err.field, field, `${field}=${value}`);
      assert.match(err.message, new RegExp(`${field} `));
      const why = String(err.details.reason);
      assert.match(why, reason, `${field}=${value}: ${why}`);
    }
  });

  it("leaves the URL to the listen port when the port is 0", () => {
    assert.equal(
      routerConfigFromEnv({ ...required, ROUTER__WEBSERVER__SERVER_PORT: "0" }).url,
      undefined,
    );
  });

  it("advertises TCP on the router URL's host by default", () => {
    const config = routerConfigFromEnv({
      ...required,
      ROUTER_URL: "http://gw.example:8080",
      TCP_PORT_START: "1",
      TCP_PORT_END: "2",
    });
    assert.equal(config.tcp?.address, "gw.example");
  });

  it("names the variable at fault", () => {
    assert.equal(
      failure({ ...required, ROUTER__WEBSERVER__SERVER_PORT: "http" }).field,
      "ROUTER__WEBSERVER__SERVER_PORT",
    );
    assert.equal(failure({ ...required, AUTH_SECURE_ENABLED: "yes" }).field, "AUTH_SECURE_ENABLED");
    assert.equal(failure({ ...required, ROUTER_URL: "gw.example" }).field, "ROUTER_URL");
    assert.equal(failure({ ...required, ROUTER_DOMAIN: "bad_domain" }).field, "ROUTER_DOMAIN");
    assert.equal(failure({ ...required, AUTH_COOKIE_NAME: "a b" }).field, "AUTH_COOKIE_NAME");
    assert.equal(failure({ ...required, TCP_PORT_START: "10" }).field, "TCP_PORT_END");
    assert.equal(
      failure({ ...required, TCP_PORT_START: "20", TCP_PORT_END: "10" }).field,
      "TCP_PORT_START",
    );
  });

  it("lists every problem at once with the APPGW_INVALID_REQUEST code", () => {
    const err = failure({ ROUTER__WEBSERVER__SERVER_PORT: "99999" });
    assert.equal(err.code, "APPGW_INVALID_REQUEST");
    const fields = (err.details.issues as { field: string }[]).map((i) => i.field);
    assert.deepEqual(fields, [
      "ROUTER__WEBSERVER__SERVER_PORT",
      "CLEARML_API_HOST",
      "CLEARML_API_ACCESS_KEY",
      "CLEARML_API_SECRET_KEY",
    ]);
    assert.match(err.message, /CLEARML_API_SECRET_KEY is required/);
  });
});

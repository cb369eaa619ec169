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

// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "**/node_modules/",
      "**/dist/",
      ".tools/",
      ".appgw/",
      "tools/",
      "**/*.js",
      "**/*.mjs",
      // The settings page's one browser script is linted below.
      "!gateway/console/assets/*.js",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", ignoreRestSiblings: true },
      ],
      // The dynamic provider must require() inside methods: Pulumi serializes its closure.
      "@typescript-eslint/no-require-imports": "off",
    },
  },
  // The architecture's dependency rules: each part reaches the others only through the SDK.
  ...[
    {
      files: ["sdk/**/*.ts"],
      message: "the SDK is a client: it imports no server, provider or Pulumi code",
      group: [
        "**/gateway/**",
        "**/provider/**",
        "@appgw/gateway",
        "@appgw/gateway/*",
        "@appgw/pulumi",
        "@appgw/pulumi/*",
        "@pulumi/*",
        "fastify",
        "better-sqlite3",
      ],
    },
    {
      files: ["provider/**/*.ts"],
      message: "the provider reaches the gateway only through the SDK",
      group: ["**/gateway/**", "@appgw/gateway", "@appgw/gateway/*", "fastify", "better-sqlite3"],
    },
    {
      files: ["gateway/router/**/*.ts", "gateway/agent/**/*.ts"],
      message: "routers and agents reach the control plane only through the SDK",
      group: ["**/api/**", "**/store/**", "../api", "../store", "fastify", "better-sqlite3"],
    },
    {
      files: ["gateway/console/**/*.ts"],
      message: "the settings page reads and writes only through the API, with the SDK",
      group: ["**/api/**", "**/store/**", "**/router/**", "../api", "../store", "better-sqlite3"],
    },
  ].map(({ files, message, group }) => ({
    files,
    rules: { "no-restricted-imports": ["error", { patterns: [{ group, message }] }] },
  })),
  {
    files: ["gateway/console/assets/*.js"],
    languageOptions: {
      sourceType: "script",
      globals: {
        document: "readonly",
        location: "readonly",
        fetch: "readonly",
        DOMParser: "readonly",
        setTimeout: "readonly",
      },
    },
  },
  {
    // Tests walk arbitrary JSON (envelopes, rendered Kubernetes objects).
    files: ["tests/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
);

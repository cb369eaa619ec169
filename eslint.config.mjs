// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", ".tools/", ".appgw/", "tools/", "**/*.js", "**/*.mjs"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      // The dynamic provider must require() inside methods: Pulumi serializes its closure.
      "@typescript-eslint/no-require-imports": "off",
    },
  },
  {
    // Tests walk arbitrary JSON (envelopes, rendered Kubernetes objects).
    files: ["tests/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
);

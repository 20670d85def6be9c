import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "dist/", "data/", "coverage/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["**/store/**", "**/api/**", "**/services/**", "**/cli/**"],
              message: "domain and engine stay pure: they never import the store, API, services or CLI",
            },
          ],
        },
      ],
    },
  },
  {
    // The engine and the domain take the instant as an input: reading the clock there is a bug.
    files: ["src/engine/**", "src/domain/**"],
    ignores: ["**/*.test.ts"],
    rules: {
      "no-restricted-syntax": [
        "error",
        {
          selector: "MemberExpression[object.name='Date'][property.name='now']",
          message: "pass `at` in; never read the clock",
        },
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: "pass `at` in; never read the clock",
        },
        {
          selector: "MemberExpression[object.name='performance'][property.name='now']",
          message: "pass `at` in; never read the clock",
        },
      ],
    },
  },
  {
    files: ["src/cli/**", "src/api/**", "src/services/**", "src/store/**", "bench/**", "test/**"],
    rules: { "no-restricted-imports": "off" },
  },
);

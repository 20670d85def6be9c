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
    files: ["src/cli/**", "src/api/**", "src/services/**", "src/store/**", "bench/**", "test/**"],
    rules: { "no-restricted-imports": "off" },
  },
);

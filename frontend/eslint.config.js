// ESLint (flat config) over CityOps' own scripts: the consoles' modules and the tests of
// the pure parts. Vendored libraries (node_modules) are not ours to lint.
import js from "@eslint/js";
import globals from "globals";

export default [
  {ignores: ["node_modules/"]},
  js.configs.recommended,
  {
    files: ["static/**/*.js"],
    languageOptions: {ecmaVersion: 2024, sourceType: "module", globals: globals.browser},
  },
  {
    files: ["tests/**/*.js", "eslint.config.js"],
    languageOptions: {ecmaVersion: 2024, sourceType: "module", globals: {...globals.node, ...globals.browser}},
  },
  {
    rules: {
      "no-unused-vars": ["error", {args: "after-used", caughtErrors: "none"}],
      eqeqeq: ["error", "smart"],
      "no-implicit-globals": "error",
      "prefer-const": "error",
    },
  },
];

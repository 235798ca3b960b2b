import js from "@eslint/js";
import tseslint from "typescript-eslint";

const timeRule = [
  "error",
  {
    selector: "MemberExpression[object.name='Date'][property.name='now']",
    message: "Read time from the injected Clock (src/clock.ts), not Date.now().",
  },
  {
    selector: "NewExpression[callee.name='Date'][arguments.length=0]",
    message: "Read time from the injected Clock (src/clock.ts), not new Date().",
  },
];

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "src/stores/sql/migrations.ts"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", console: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["src/**/*.ts"],
    ignores: ["src/clock.ts"],
    rules: {
      "no-restricted-syntax": timeRule,
      "no-restricted-globals": [
        "error",
        { name: "setTimeout", message: "Use clock.setTimer (src/clock.ts)." },
        { name: "setInterval", message: "Use clock.setTimer (src/clock.ts)." },
      ],
    },
  },
);

// ESLint (flat config): typescript-eslint's strict and stylistic type-checked presets over src/,
// test/, bench/ and src/web/, with the type information of the two tsconfigs `npm run typecheck`
// uses; eslint-config-prettier last, so that formatting is prettier's alone (`npm run lint` runs
// both, `npm run format` fixes both).
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    // Generated, built, written by runs, or not TypeScript of ours.
    ignores: ['dist/', 'node_modules/', 'src/gen/', 'bench/results/', 'test/artifacts/', 'examples/', 'scripts/*.sh'],
  },
  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // test/tsconfig.json covers src/ (but src/web), test/ and bench/; src/web has its own
        // (DOM types, no Node types).
        project: ['./test/tsconfig.json', './src/web/tsconfig.json'],
        tsconfigRootDir: fileURLToPath(new URL('.', import.meta.url)),
      },
    },
  },
  {
    // Plain JavaScript (this file, the bench's preload): no type information, Node's globals.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: globals.node },
  },
  prettier,
);

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
    // The presets stay whole; these options fit them to how this code base is written.
    rules: {
      // node:test awaits its own describe/it; everything else must be awaited or voided.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] },
          ],
        },
      ],
      // Numbers in messages are fine; undefined, null, objects and the rest are not.
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: false, allowAny: false, allowNullish: false, allowRegExp: false, allowNever: false, allowArray: false },
      ],
      // Its fix turns `as T` into `x!`, which the strict preset's no-non-null-assertion forbids.
      '@typescript-eslint/non-nullable-type-assertion-style': 'off',
      // `(x) => resolve(x)` callbacks.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // `T[]` for simple types, `Array<[a, b]>` for the rest.
      '@typescript-eslint/array-type': ['error', { default: 'array-simple' }],
      // No-op callbacks (`.catch(() => {})`); empty methods are still reported.
      '@typescript-eslint/no-empty-function': ['error', { allow: ['arrowFunctions'] }],
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

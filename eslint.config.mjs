// Lint rules: typescript-eslint's recommended set (syntax only, so `npm run lint` stays fast on a
// 2-core machine), with formatting left to Prettier.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      // `_` marks a parameter an interface requires but this implementation does not use.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      'no-console': ['error', { allow: ['warn', 'error'] }],
      eqeqeq: ['error', 'always'],
      'prefer-const': 'error',
      // Reports constants used only inside decorators (e.g. a pipe in @Param) as never read.
      'no-useless-assignment': 'off',
    },
  },
  {
    // Command-line entry points and dev tools print to the terminal on purpose.
    files: ['bench/**', 'scripts/**', 'src/main.ts', 'src/**/*.main.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    // CI helpers are plain Node scripts: Node's globals, and printing is their job.
    files: ['.ci/**/*.mjs', 'ui/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
    rules: { 'no-console': 'off' },
  },
  {
    // Tests capture the console, and read response bodies as `any`: their assertions check the shape.
    files: ['test/**', '**/*.spec.ts'],
    rules: { 'no-console': 'off', '@typescript-eslint/no-explicit-any': 'off' },
  },
);

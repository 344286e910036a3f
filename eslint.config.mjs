// One flat config for every workspace: each workspace's `lint` runs eslint from its own folder.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '**/.next/**', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // The engine is pure: no Node built-ins, no clock, no I/O (ARCHITECTURE.md).
    files: ['packages/protocols/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:*', 'fs', 'path', 'crypto', 'os', 'net'], message: 'protocols is pure: no Node built-ins' }] }],
      'no-restricted-globals': ['error', { name: 'Date', message: 'time comes in on the frames' }, { name: 'setTimeout', message: 'no timers in the engine' }, { name: 'process', message: 'no process access in the engine' }, { name: 'console', message: 'anomalies go out as data' }],
      'no-restricted-properties': ['error', { object: 'Date', property: 'now' }, { object: 'performance', property: 'now' }],
    },
  },
);

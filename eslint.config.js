// ESLint flat config. Besides the TypeScript rules it enforces the layering of the house style:
// commands stay thin (no database, container or process clients), the pure core modules do no IO,
// and the core and providers never write to the console.
import tseslint from 'typescript-eslint';

const IO_MODULES = ['pg', 'dockerode', '@kubernetes/client-node', 'node:child_process', 'child_process', 'execa'];
const PURE_FORBIDDEN = [...IO_MODULES, 'node:fs', 'fs', 'node:fs/promises', 'fs/promises', 'node:net', 'node:http', '@oclif/core'];

const restrict = (names, message) => ({
  'no-restricted-imports': ['error', {paths: names.map((name) => ({name, message}))}],
});

export default tseslint.config(
  {ignores: ['dist/**', 'node_modules/**', 'oclif.manifest.json', 'src/core/store/generated/**', 'coverage/**']},
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_'}],
      'max-lines': ['warn', {max: 400, skipBlankLines: true, skipComments: true}],
    },
  },
  {
    files: ['src/commands/**/*.ts'],
    rules: restrict(IO_MODULES, 'Commands stay thin: call a core service from the composition root instead.'),
  },
  {
    files: ['src/core/**/*-policy.ts', 'src/core/**/*-plan.ts', 'src/core/**/*-state.ts', 'src/core/env/**/*.ts',
      'src/core/odoo/**/*.ts', 'src/core/config/schema*.ts', 'src/core/config/duration.ts', 'src/core/config/did-you-mean.ts',
      'src/core/config/starter-config.ts', 'src/core/audit/audit-chain.ts', 'src/core/build/**/*.ts',
      'src/core/members/rbac-matrix.ts', 'src/core/policy/policy-rules.ts'],
    rules: restrict(PURE_FORBIDDEN, 'Pure core modules do no IO: take data in, return data out.'),
  },
  {
    files: ['src/core/**/*.ts', 'src/providers/**/*.ts'],
    rules: {'no-console': 'error'},
  },
);

/**
 * The architecture's dependency rules, checked by `npm run depcruise` (and .ci/run). A rule that
 * fails names the import that breaks it; docs/architecture.md says why each rule exists.
 * @type {import('dependency-cruiser').IConfiguration}
 */
export default {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import cycles make module initialisation order-dependent and the graph impossible to layer.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'libs-are-framework-free',
      severity: 'error',
      comment: 'libs/ are plain TypeScript libraries used by the app; they import nothing from src/.',
      from: { path: '^libs/' },
      to: { path: '^src/' },
    },
    {
      name: 'gateway-and-canary-are-leaves',
      severity: 'error',
      comment:
        'The request pipeline (gateway/) and the canary controller (canary/) sit on top of everything: only the ' +
        'app module and bootstrap wire them in. Domain modules that imported them would pull the pipeline in with them. ' +
        "(database/entities.ts lists every table's entity, canary's too, so the TypeORM CLI sees the whole schema: " +
        'a list of tables, not a use of the module.)',
      from: {
        path: '^src/',
        pathNot: [
          '^src/app\\.module\\.ts$',
          '^src/bootstrap\\.ts$',
          '^src/(gateway|canary)/',
          '^src/database/entities\\.ts$',
        ],
      },
      to: { path: '^src/(gateway|canary)/' },
    },
    {
      name: 'gateway-and-canary-stay-apart',
      severity: 'error',
      comment: 'Neither of the two top layers depends on the other.',
      from: { path: '^src/gateway/' },
      to: { path: '^src/canary/' },
    },
    {
      name: 'canary-does-not-import-gateway',
      severity: 'error',
      comment: 'Neither of the two top layers depends on the other.',
      from: { path: '^src/canary/' },
      to: { path: '^src/gateway/' },
    },
    {
      name: 'common-imports-no-feature',
      severity: 'error',
      comment:
        'src/common/ is shared by every module, so it may depend on configuration only, never on a feature module. ' +
        '(Its tests may exercise the common validation on real feature DTOs.)',
      from: { path: '^src/common/', pathNot: '\\.spec\\.ts$' },
      to: { path: '^src/', pathNot: ['^src/common/', '^src/config/'] },
    },
    {
      name: 'tokenizer-stays-off-the-main-thread',
      severity: 'error',
      comment:
        "gpt-tokenizer's vocabulary is tens of MB of Maps: in the main thread's heap every major GC would mark it. " +
        'It is loaded only in the worker thread of providers/token-counter.ts (by the path it resolves, not an import). ' +
        '(Tests import it to check the counts against.)',
      from: { path: '^(src|libs)/', pathNot: '\\.spec\\.ts$' },
      to: { path: '(^|/)node_modules/gpt-tokenizer/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};

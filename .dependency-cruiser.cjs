// Architecture rules as code (docs/design/architecture.md): `npm run check:architecture`.
//
// The TypeScript sources of every workspace are cruised. A workspace package imported by name
// resolves the way Node resolves it (node_modules symlink -> package.json `exports` -> dist/), so
// the rules that follow a path across packages ("reachable") read the built JavaScript of the
// packages imported: run it after `turbo run build`.

/** Framework, database and Kafka clients. `@types/x` counts as x: a type import is still knowledge of x. */
const modules = (...names) => `(^|/)node_modules/(@types/)?(${names.join('|')})(/|$)`;
const FRAMEWORK_DB_KAFKA = modules(
  '@nestjs/[^/]+',
  'typeorm',
  'pg',
  'kafkajs',
  '@platformatic/kafka',
  'rxjs',
  'fastify',
  'nestjs-pino',
);
const NEST_TYPEORM_KAFKA = modules('@nestjs/[^/]+', 'typeorm', 'kafkajs', '@platformatic/kafka');
const NEST_RXJS = modules('@nestjs/[^/]+', 'rxjs');
const PURE_CORES = '^packages/(canonical-json|contracts|errors|token-core|ledger-core)/';
/** What the SDK may import at load time: the pure cores. Anything else (the Kafka layer) only lazily. */
const SDK_STATIC_OK = `${PURE_CORES}|^packages/sdk/`;
/** A dependency whose code does not load with the importing module. */
const LAZY_OR_TYPES = ['dynamic-import', 'type-only'];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'resolvable',
      comment:
        'Every import resolves; a workspace package that is not built yet (no dist/) would otherwise pass the rules that follow it unseen.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'pure-core-no-framework',
      comment:
        'canonical-json, contracts, errors, token-core and ledger-core take bytes and return typed results: no framework, database or Kafka client, not even through another package.',
      severity: 'error',
      from: { path: `${PURE_CORES}src/` },
      to: { path: FRAMEWORK_DB_KAFKA, reachable: true },
    },
    {
      name: 'apps-not-apps',
      comment:
        "An app never imports another app: apps learn from events, not from each other's code.",
      severity: 'error',
      from: { path: '^apps/([^/]+)/' },
      to: { path: '^apps/', pathNot: '^apps/$1/' },
    },
    {
      name: 'no-relative-across-workspaces',
      comment:
        'A workspace consumes another by its package name (@tokenledger/x), never through a relative path out of its own folder.',
      severity: 'error',
      from: { path: '^(packages/[^/]+|apps/[^/]+|e2e|infra)/' },
      to: { dependencyTypes: ['local'], pathNot: '^$1/' },
    },
    {
      name: 'no-other-package-src',
      comment:
        "Nothing reaches into another package's src/ (relative path or tsconfig paths): its built exports are its interface.",
      severity: 'error',
      from: { path: '^(packages/[^/]+|apps/[^/]+|e2e|infra)/' },
      to: { path: '^packages/[^/]+/src/', pathNot: '^$1/' },
    },
    {
      name: 'cli-verify-no-framework',
      comment:
        "The CLI's entry point loads no NestJS, TypeORM or kafkajs at load time: `verify` runs on what main.ts imports statically (ledger-core); the other commands' modules are dynamic imports inside their branch.",
      severity: 'error',
      from: { path: '^packages/cli/src/main\\.ts$' },
      to: { path: NEST_TYPEORM_KAFKA, dependencyTypesNot: LAZY_OR_TYPES },
    },
    {
      name: 'cli-verify-static-imports-pure',
      comment:
        'What the CLI entry point imports at load time is a pure core (itself checked by pure-core-no-framework) or Node; anything else only through a dynamic import.',
      severity: 'error',
      from: { path: '^packages/cli/src/main\\.ts$' },
      to: {
        path: '^(packages|apps)/',
        pathNot: `${PURE_CORES}|^packages/cli/src/exit\\.ts$`,
        dependencyTypesNot: LAZY_OR_TYPES,
      },
    },
    {
      name: 'cli-exit-codes-pure',
      comment:
        'exit.ts (exit codes and error classes, loaded by main.ts) imports nothing but Node.',
      severity: 'error',
      from: { path: '^packages/cli/src/exit\\.ts$' },
      to: { path: '^(packages|apps)/' },
    },
    {
      name: 'cli-checkpoint-no-framework',
      comment:
        '`checkpoint check` and `checkpoint watch` (checkpoint.ts and all it reaches) use fetch and ledger-core only.',
      severity: 'error',
      from: { path: '^packages/cli/src/checkpoint\\.ts$' },
      to: { path: NEST_TYPEORM_KAFKA, reachable: true },
    },
    {
      name: 'sdk-no-framework',
      comment:
        'The SDK loads no NestJS, TypeORM or kafkajs with its modules; the Kafka layer is imported lazily (dynamic import) by the usage reporter.',
      severity: 'error',
      from: { path: '^packages/sdk/src/' },
      to: { path: NEST_TYPEORM_KAFKA, dependencyTypesNot: LAZY_OR_TYPES },
    },
    {
      name: 'sdk-static-imports-pure',
      comment:
        'What the SDK imports at load time is pure (the cores, themselves checked by pure-core-no-framework); other workspace packages only through a dynamic import.',
      severity: 'error',
      from: { path: '^packages/sdk/src/', pathNot: '^packages/sdk/src/usage-reporter\\.ts$' },
      to: { path: '^(packages|apps)/', pathNot: SDK_STATIC_OK, dependencyTypesNot: LAZY_OR_TYPES },
    },
    {
      name: 'sdk-usage-reporter-lazy-kafka-only',
      comment:
        'The usage reporter may reach the Kafka layer (@tokenledger/messaging), and only it, through the require() inside loadKafkaLayer(), which runs at start(); dependency-cruiser cannot tell a call-time require from a load-time one, so packages/sdk/src/module-load.int-spec.ts checks at run time that requiring the SDK loads no kafkajs, Nest or TypeORM.',
      severity: 'error',
      from: { path: '^packages/sdk/src/usage-reporter\\.ts$' },
      to: {
        path: '^(packages|apps)/',
        pathNot: `${SDK_STATIC_OK}|^packages/messaging/`,
        dependencyTypesNot: LAZY_OR_TYPES,
      },
    },
    {
      name: 'witness-no-framework',
      comment:
        "The witness runs under someone else's control as one small process: node:http and the pure cores, no framework, database or Kafka client.",
      severity: 'error',
      from: { path: '^packages/witness/src/' },
      to: { path: FRAMEWORK_DB_KAFKA, reachable: true },
    },
    {
      name: 'messaging-no-nest',
      comment:
        '@tokenledger/messaging is the framework-free Kafka layer; the Nest glue lives in @tokenledger/messaging-nest.',
      severity: 'error',
      from: { path: '^packages/messaging/src/' },
      to: { path: NEST_RXJS, reachable: true },
    },
  ],
  options: {
    doNotFollow: { path: '(^|/)node_modules/' },
    exclude: { path: '(^|/)(dist|coverage)/.*\\.d\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      // Not `types`: a package's exports list it first, and its .d.ts files do not say what loads.
      conditionNames: ['require', 'node', 'default'],
      extensions: ['.ts', '.tsx', '.js', '.cjs', '.mjs', '.json', '.d.ts'],
      mainFields: ['main'],
    },
    skipAnalysisNotInRules: true,
    reporterOptions: { text: { highlightFocused: true } },
  },
};

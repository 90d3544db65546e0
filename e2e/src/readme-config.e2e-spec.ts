import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The README's configuration tables are complete: every variable that an app's config schema
 * reads (service-host's base schema, each app's own, the witness and the console), the Kafka
 * connection, the one-shot jobs, the scripts, the CLI and the benchmarks has a row
 * `| \`NAME\` |`. Issue 18 found variables missing; this keeps new ones from going undocumented.
 * Not covered: `bench/probes/` (one-off diagnostics, configured as each header says).
 */
const root = path.resolve(__dirname, '../..');
const inDir = (dir: string, pattern: RegExp): string[] =>
  readdirSync(path.join(root, dir))
    .filter((f) => pattern.test(f))
    .map((f) => `${dir}/${f}`);
const CONFIG_SOURCES = [
  'packages/service-host/src/config.ts',
  'packages/service-host/src/telemetry.ts',
  'apps/issuance/src/config.ts',
  'apps/revocation/src/config.ts',
  'apps/anomaly/src/config.ts',
  'apps/ledger/src/config.ts',
  'apps/console/src/server/config.ts',
  'packages/witness/src/config.ts',
  'packages/witness/src/pair-main.ts',
  'packages/messaging/src/kafka-client.ts',
  'packages/cli/src/main.ts',
  'infra/src/stack.ts',
  'infra/src/provision-roles-main.ts',
  ...inDir('scripts', /\.mjs$/),
  ...inDir('bench', /\.mjs$/),
];
/** Read by the scripts but not settings of this project: the platform's own. */
const NOT_OURS = new Set(['PATH', 'NODE_OPTIONS']);

/**
 * The variables a config source reads: keys of its zod objects (`  NAME: z...`), `env.NAME`, and
 * quoted names (`'WITNESS_PORT'`, the witness's table of variables).
 */
function variablesOf(file: string): string[] {
  const source = readFileSync(path.join(root, file), 'utf8');
  const patterns = [
    /^\s+([A-Z][A-Z0-9_]+):\s/gm,
    /\benv\.([A-Z][A-Z0-9_]+)/g,
    /'([A-Z][A-Z0-9]*_[A-Z0-9_]+)'/g,
  ];
  return [...new Set(patterns.flatMap((p) => [...source.matchAll(p)].map((m) => m[1]!)))];
}

describe('README configuration tables', () => {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  // Every `NAME` in the first cell of a table row (a row may name several: `A`, `B`).
  const rows = new Set(
    [...readme.matchAll(/^\| (`[A-Z][^|]*)\|/gm)].flatMap((m) =>
      [...m[1]!.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((n) => n[1]!),
    ),
  );

  it.each(CONFIG_SOURCES)('every variable read in %s has a row', (file) => {
    const variables = variablesOf(file);
    expect(variables.length).toBeGreaterThan(0);
    expect(variables.filter((v) => !rows.has(v) && !NOT_OURS.has(v))).toEqual([]);
  });
});

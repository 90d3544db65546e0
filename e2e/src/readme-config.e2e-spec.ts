import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The README's configuration tables are complete: every variable that an app's config schema
 * reads (service-host's base schema, each app's own, the witness and the console) has a row
 * `| \`NAME\` |`. Issue 18 found two missing; this keeps new ones from going undocumented.
 */
const root = path.resolve(__dirname, '../..');
const CONFIG_SOURCES = [
  'packages/service-host/src/config.ts',
  'packages/service-host/src/telemetry.ts',
  'apps/issuance/src/config.ts',
  'apps/revocation/src/config.ts',
  'apps/anomaly/src/config.ts',
  'apps/ledger/src/config.ts',
  'apps/console/src/server/config.ts',
  'packages/witness/src/config.ts',
];

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
  const rows = new Set([...readme.matchAll(/^\| `([A-Z][A-Z0-9_]+)`/gm)].map((m) => m[1]!));

  it.each(CONFIG_SOURCES)('every variable read in %s has a row', (file) => {
    const variables = variablesOf(file);
    expect(variables.length).toBeGreaterThan(0);
    expect(variables.filter((v) => !rows.has(v))).toEqual([]);
  });
});

import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import * as path from 'node:path';

// Loads the built SDK (dist, as a service would) in a fresh process, builds a UsageReporter
// without starting it, and lists every module that process loaded.
const PROBE = `
const { UsageReporter } = require('@tokenledger/sdk');
new UsageReporter({ brokers: '127.0.0.1:9', service: 'module-load-probe' });
process.stdout.write(JSON.stringify(Object.keys(require.cache)));
`;

const FORBIDDEN = [
  '/node_modules/@nestjs/',
  '/node_modules/typeorm/',
  '/node_modules/kafkajs/',
  '/node_modules/rxjs/',
];

function loadedModules(): string[] {
  const out = execFileSync(process.execPath, ['-e', PROBE], {
    cwd: path.join(__dirname, '..'),
    encoding: 'utf8',
  });
  return JSON.parse(out) as string[];
}

describe('require("@tokenledger/sdk")', () => {
  it('loads neither Nest, TypeORM, rxjs nor the Kafka client until a reporter starts', () => {
    const modules = loadedModules();
    expect(modules.some((m) => m.includes(`${path.sep}sdk${path.sep}dist${path.sep}`))).toBe(true);
    // Node keys the cache by real path; a workspace package reached through a symlink is also
    // checked under the path it was linked from.
    const paths = [...new Set(modules.flatMap((m) => [m, realpathSync(m)]))];
    const offending = paths.filter((p) => FORBIDDEN.some((f) => p.includes(f)));
    expect(offending).toEqual([]);
  });
});

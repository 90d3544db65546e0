// `npm test`: every tier (unit, integration, e2e) of every workspace, against a real Kafka broker
// and a real PostgreSQL, started here when none is running and stopped afterwards.
import { spawnSync } from 'node:child_process';
import { build, ensureDependencies, infra, root, say } from './lib.mjs';

ensureDependencies();
build();
const stack = await infra().ensureInfrastructure({ database: 'tokenledger_test', log: say });
let status;
try {
  const args = [
    'turbo',
    'run',
    'test',
    '--concurrency=1',
    '--output-logs=new-only',
    ...process.argv.slice(2),
  ];
  status = spawnSync('npx', args, { cwd: root, stdio: 'inherit' }).status ?? 1;
} finally {
  if (stack.started.length > 0) say(`stopping ${stack.started.join(', ')}`);
  await stack.stop();
}
process.exit(status);

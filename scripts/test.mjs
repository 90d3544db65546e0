// `npm test`: every tier (unit, integration, e2e) of every workspace, against a real Kafka broker
// and a real PostgreSQL, started here when none is running and stopped afterwards.
//
// The workspaces' own tests (unit and integration: each spec file has its own database and
// topics) run two at a time, one a core; the end-to-end suite, which runs the four apps as
// processes, then runs alone, so that nothing competes with the apps it drives. Arguments
// (`npm test -- --filter=@tokenledger/ledger-core`) go to one turbo run with every task in turn.
import { spawnSync } from 'node:child_process';
import { build, ensureDependencies, infra, root, say } from './lib.mjs';

ensureDependencies();
build();
const stack = await infra().ensureInfrastructure({ database: 'tokenledger_test', log: say });
// KAFKA_CLIENT=platformatic: @platformatic/kafka is an ES module, which jest can only import()
// with Node's VM modules (packages/messaging/src/platformatic-client.ts).
const env =
  process.env.KAFKA_CLIENT?.trim().toLowerCase() === 'platformatic'
    ? {
        ...process.env,
        NODE_OPTIONS: [process.env.NODE_OPTIONS, '--experimental-vm-modules']
          .filter(Boolean)
          .join(' '),
      }
    : process.env;
const turboTest = (...args) =>
  spawnSync('npx', ['turbo', 'run', 'test', '--output-logs=new-only', ...args], {
    cwd: root,
    stdio: 'inherit',
    env,
  }).status ?? 1;
let status;
try {
  const extra = process.argv.slice(2);
  if (extra.length > 0) {
    status = turboTest('--concurrency=1', ...extra);
  } else {
    status = turboTest('--concurrency=2', '--filter=!@tokenledger/e2e');
    if (status === 0) status = turboTest('--concurrency=1', '--filter=@tokenledger/e2e');
  }
} finally {
  if (stack.started.length > 0) say(`stopping ${stack.started.join(', ')}`);
  await stack.stop();
}
process.exit(status);

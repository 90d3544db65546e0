import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

/** The `tokenledger` command, as a user runs it: exit status, stdout, and stdout then stderr. */
export function cli(args: string[]): { status: number | null; stdout: string; out: string } {
  const bin = path.join(
    path.dirname(require.resolve('@tokenledger/cli/package.json')),
    'dist',
    'main.js',
  );
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, out: `${result.stdout}${result.stderr}` };
}

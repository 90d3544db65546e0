import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

/** The `tokenledger` command, as a user runs it: exit status, stdout, and stdout then stderr. */
/**
 * Runs the built `tokenledger` command; `token` goes in TOKENLEDGER_TOKEN, as a user passes it
 * (never as a flag).
 */
export function cli(
  args: string[],
  token?: string,
): { status: number | null; stdout: string; out: string } {
  const bin = path.join(
    path.dirname(require.resolve('@tokenledger/cli/package.json')),
    'dist',
    'main.js',
  );
  const env = { ...process.env };
  delete env.TOKENLEDGER_TOKEN;
  if (token !== undefined) env.TOKENLEDGER_TOKEN = token;
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env });
  return { status: result.status, stdout: result.stdout, out: `${result.stdout}${result.stderr}` };
}

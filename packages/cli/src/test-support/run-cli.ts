import { spawn } from 'node:child_process';
import * as path from 'node:path';

/** The built command (`npm run build` first). */
export const CLI_MAIN = path.join(__dirname, '..', '..', 'dist', 'main.js');

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built `tokenledger` asynchronously (a stand-in server can run in the test's process),
 * with `env` over the test's environment; TOKENLEDGER_TOKEN only when `env` sets it.
 */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  delete childEnv.TOKENLEDGER_TOKEN;
  Object.assign(childEnv, env);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: childEnv,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

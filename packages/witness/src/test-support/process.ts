// Runs the real witness (dist/main.js) as a child process on a free port.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');

export interface WitnessProcess {
  readonly url: string;
  readonly verifierKey: string;
  readonly child: ChildProcess;
  /** Every JSON log line printed so far. */
  readonly lines: Record<string, unknown>[];
  readonly stderr: string[];
  /** Sends `signal` and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startWitnessProcess(env: Record<string, string>): Promise<WitnessProcess> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build the package first`);
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', WITNESS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const listening = new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const json = JSON.parse(line) as Record<string, unknown>;
      lines.push(json);
      if (json.msg === 'witness listening') resolve(json);
    });
    void exited.then((code) =>
      reject(
        new Error(
          `witness exited (${code}) before listening: ${JSON.stringify(lines)} ${stderr.join('')}`,
        ),
      ),
    );
  });
  const ready = await listening;
  return {
    url: `http://127.0.0.1:${String(ready.port)}/`,
    verifierKey: String(ready.verifierKey),
    child,
    lines,
    stderr,
    stop: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export async function post(
  url: string,
  body: string | Buffer,
): Promise<{ status: number; type: string; body: string }> {
  const res = await fetch(new URL('add-checkpoint', url), { method: 'POST', body });
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    body: await res.text(),
  };
}

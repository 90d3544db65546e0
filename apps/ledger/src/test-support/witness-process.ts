// Runs the real witness (`tokenledger-witness` of @tokenledger/witness) as a child process.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

const MAIN = join(dirname(require.resolve('@tokenledger/witness/package.json')), 'dist', 'main.js');

export interface WitnessProcess {
  readonly url: string;
  readonly verifierKey: string;
  /** Every JSON log line printed so far. */
  readonly lines: Record<string, unknown>[];
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A witness on `port` keeping its state in `stateDir`, witnessing every log under `originPrefix`. */
export async function startWitness(options: {
  name: string;
  stateDir: string;
  port: number;
  originPrefix: string;
  logKeys: string[];
}): Promise<WitnessProcess> {
  const child: ChildProcess = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      WITNESS_NAME: options.name,
      WITNESS_STATE_DIR: options.stateDir,
      WITNESS_PORT: String(options.port),
      WITNESS_LOGS: JSON.stringify([{ originPrefix: options.originPrefix, keys: options.logKeys }]),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const json = JSON.parse(line) as Record<string, unknown>;
      lines.push(json);
      if (json.msg === 'witness listening') resolve(json);
    });
    void exited.then(() =>
      reject(
        new Error(`witness exited before listening: ${JSON.stringify(lines)} ${stderr.join('')}`),
      ),
    );
  });
  return {
    url: `http://127.0.0.1:${options.port}/`,
    verifierKey: String(ready.verifierKey),
    lines,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

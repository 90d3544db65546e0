import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { generateToken } from '@tokenledger/token-core';
import {
  freshDatabase,
  freshTopicPrefix,
  kafkaBrokers,
  type TestDatabase,
} from '@tokenledger/testing';
import { APP_NAMES, freePort, type AppName } from './system';

const START = path.resolve(__dirname, '..', '..', 'scripts', 'start.mjs');

/** `npm start` (scripts/start.mjs) as a supervisor, with its own home, ports, database and topics. */
describe('npm start supervises the apps', () => {
  let db: TestDatabase;
  let home: string;
  let start: ChildProcess;
  const lines: string[] = [];
  const ports = {} as Record<AppName, number>;
  const exited = (): boolean => start.exitCode !== null || start.signalCode !== null;

  async function waitForLine(pattern: RegExp, timeoutMs: number, from = 0): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const line = lines.slice(from).find((l) => pattern.test(l));
      if (line) return line;
      if (exited()) throw new Error(`start.mjs exited:\n${lines.slice(-40).join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(
      `no line matching ${pattern} in ${timeoutMs} ms:\n${lines.slice(-40).join('\n')}`,
    );
  }

  const get = async (url: string): Promise<number> => {
    try {
      return (await fetch(url, { signal: AbortSignal.timeout(2000) })).status;
    } catch {
      return 0;
    }
  };

  beforeAll(async () => {
    db = await freshDatabase();
    home = mkdtempSync(path.join(os.tmpdir(), 'tokenledger-start-'));
    for (const name of APP_NAMES) ports[name] = await freePort();
    start = spawn(process.execPath, [START], {
      env: {
        ...process.env,
        TOKENLEDGER_HOME: home,
        TOKENLEDGER_NO_BUILD: '1',
        // The shared broker, given: start.mjs then starts (and stops) no broker of its own.
        KAFKA_BROKERS: kafkaBrokers(),
        DATABASE_URL: db.url,
        TOPIC_PREFIX: freshTopicPrefix(),
        TOKENLEDGER_ROOT_TOKEN: generateToken(),
        ...Object.fromEntries(APP_NAMES.map((n) => [`${n.toUpperCase()}_PORT`, String(ports[n])])),
        WITNESS_PORT: String(await freePort()),
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    createInterface({ input: start.stdout! }).on('line', (l) => lines.push(l));
    createInterface({ input: start.stderr! }).on('line', (l) => lines.push(l));
    await waitForLine(/\[tokenledger\] ready: /, 170_000);
  }, 180_000);

  afterAll(async () => {
    if (start && !exited()) {
      start.kill('SIGKILL');
    }
    await db?.drop();
    if (home) rmSync(home, { recursive: true, force: true });
  }, 60_000);

  it('a SIGKILLed app is restarted and ready within 15 s while the others keep answering; Ctrl-C stops all', async () => {
    const victim: AppName = 'anomaly';
    const started = await waitForLine(new RegExp(`${victim}: started \\(pid (\\d+)\\)`), 1000);
    const pid = Number(/pid (\d+)/.exec(started)?.[1]);
    expect(pid).toBeGreaterThan(0);
    const others = APP_NAMES.filter((n) => n !== victim);
    for (const name of APP_NAMES)
      expect(await get(`http://127.0.0.1:${ports[name]}/health/ready`)).toBe(200);

    const mark = lines.length;
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    // While the victim is down and coming back, every other app answers every probe.
    const misses: string[] = [];
    let probes = 0;
    let backAfter: number | undefined;
    while (Date.now() - killedAt < 15_000) {
      for (const name of others) {
        probes += 1;
        const status = await get(`http://127.0.0.1:${ports[name]}/health/live`);
        if (status !== 200) misses.push(`${name}: ${status}`);
      }
      const victimReady = await get(`http://127.0.0.1:${ports[victim]}/health/ready`);
      if (victimReady === 200 && Date.now() - killedAt > 200) {
        backAfter = Date.now() - killedAt;
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(backAfter).toBeDefined();
    expect(backAfter).toBeLessThanOrEqual(15_000);
    expect(misses).toEqual([]);
    expect(probes).toBeGreaterThan(others.length);
    process.stdout.write(
      `supervisor: ${victim} back and ready ${backAfter} ms after SIGKILL\n` +
        `${lines.filter((l) => l.startsWith('[tokenledger]')).join('\n')}\n`,
    );

    // The failure was logged, and the app runs as a new process.
    await waitForLine(new RegExp(`${victim} exited \\(SIGKILL\\)`), 1000, mark);
    await waitForLine(new RegExp(`${victim}: restarting in \\d+ ms`), 1000, mark);
    const restarted = await waitForLine(
      new RegExp(`${victim}: started \\(pid (\\d+)\\)`),
      1000,
      mark,
    );
    expect(Number(/pid (\d+)/.exec(restarted)?.[1])).not.toBe(pid);
    // The system did not stop: no "stopping" line.
    expect(lines.slice(mark).some((l) => l.includes('stopping...'))).toBe(false);

    // Ctrl-C still stops everything.
    const exit = new Promise<number | null>((resolve) =>
      start.once('exit', (code) => resolve(code)),
    );
    start.kill('SIGINT');
    expect(await exit).toBe(0);
    for (const name of APP_NAMES)
      expect([name, await get(`http://127.0.0.1:${ports[name]}/health/live`)]).toEqual([name, 0]);
  }, 90_000);
});

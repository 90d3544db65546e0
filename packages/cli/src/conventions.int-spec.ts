import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { signerFromSeed, verifierKey } from '@tokenledger/ledger-core';
import { buildBundle } from './test-support/bundle';
import { CLI_MAIN, runCli } from './test-support/run-cli';

// The command-line conventions of the built `tokenledger` (dist/main.js): --help and --version,
// --json, the operator token from TOKENLEDGER_TOKEN or --token-file (never a flag), the exit codes
// (0 ok, 1 failed, 2 usage, 3 unreachable, 4 refused), progress only on a terminal, completion.
const main = CLI_MAIN;
const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as {
  version: string;
};

const run = runCli;

/** A stand-in ledger for the replay routes: records the Authorization headers it saw. */
class FakeLedger {
  readonly seen: string[] = [];
  replayStatus = 'completed';
  refuse = false;
  private polls = 0;
  private readonly server = http.createServer((req, res) => {
    this.seen.push(req.headers.authorization ?? '');
    const send = (status: number, body: unknown) => {
      res.writeHead(status, {
        'content-type': status >= 400 ? 'application/problem+json' : 'application/json',
      });
      res.end(JSON.stringify(body));
    };
    const problem = (status: number, title: string, code: string, detail: string) =>
      send(status, {
        type: 'about:blank',
        title,
        status,
        detail,
        instance: req.url,
        code,
        requestId: 'req-42',
      });
    req.resume();
    if (this.refuse) return problem(403, 'Forbidden', 'forbidden', 'missing scope: ledger:replay');
    if (req.method === 'POST' && req.url === '/v1/replays') return send(202, { replayId: 'r1' });
    if (req.url === '/v1/replays/r1') {
      this.polls += 1;
      return send(200, {
        status: this.polls < 2 ? 'running' : this.replayStatus,
        done: this.polls < 2 ? 1 : 2,
        total: 2,
        error: this.replayStatus === 'failed' ? 'target topic unknown' : null,
      });
    }
    return problem(404, 'Not Found', 'not_found', 'no such route');
  });

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  reset(): void {
    this.seen.length = 0;
    this.polls = 0;
    this.replayStatus = 'completed';
    this.refuse = false;
  }
  start = () => new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
  stop = () => new Promise<void>((r) => this.server.close(() => r()));
}

/** A port that was just free: a server opened on it and closed again. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('tokenledger command-line conventions', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tl-cli-'));
  const ledger = new FakeLedger();
  const replayArgs = (url: string) => [
    'replay',
    '--url',
    url,
    '--log',
    'tokens.usage-0',
    '--target',
    'replays',
  ];

  beforeAll(async () => {
    if (!fs.existsSync(main)) throw new Error(`${main} is missing: build the cli first`);
    await ledger.start();
  });
  afterEach(() => ledger.reset());
  afterAll(async () => {
    await ledger.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('--help prints the usage on stdout and exits 0; a command --help prints that command', async () => {
    const all = await run(['--help']);
    expect([all.status, all.stderr]).toEqual([0, '']);
    expect(all.stdout).toMatch(/^usage: tokenledger <command>/);
    expect(all.stdout).toContain('Exit codes: 0 ok; 1 verification failed');
    const one = await run(['tiles', 'export', '--help']);
    expect([one.status, one.stderr]).toEqual([0, '']);
    expect(one.stdout).toContain('tokenledger tiles export <dir>');
    expect(one.stdout).not.toContain('tokenledger verify');
  });

  it('--version prints the package version and exits 0, as JSON with --json', async () => {
    expect(await run(['--version'])).toEqual({ status: 0, stdout: `${pkg.version}\n`, stderr: '' });
    const json = await run(['-V', '--json']);
    expect(JSON.parse(json.stdout)).toEqual({ version: pkg.version });
  });

  it('a command line that does not fit exits 2 with the reason on stderr', async () => {
    for (const args of [
      [],
      ['frobnicate'],
      ['verify'],
      ['verify', 'x', '--nope'],
      ['checkpoint'],
    ]) {
      const r = await run(args);
      expect([args, r.status, r.stdout]).toEqual([args, 2, '']);
      expect(r.stderr).toMatch(/^tokenledger: /);
    }
  });

  it('refuses a --token flag without echoing it, and says where the token goes', async () => {
    const r = await run([...replayArgs(ledger.url), '--token', 'tlk_live_secretvalue']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('set TOKENLEDGER_TOKEN or pass --token-file');
    expect(r.stderr + r.stdout).not.toContain('tlk_live_secretvalue');
    expect(ledger.seen).toEqual([]);
  });

  it('takes the operator token from TOKENLEDGER_TOKEN, or from --token-file (which wins)', async () => {
    const fromEnv = await run(replayArgs(ledger.url), { TOKENLEDGER_TOKEN: 'tlk_live_env' });
    expect(fromEnv.status).toBe(0);
    expect(ledger.seen[0]).toBe('Bearer tlk_live_env');
    ledger.reset();
    const file = path.join(dir, 'token');
    fs.writeFileSync(file, 'tlk_live_file\n', { mode: 0o600 });
    const fromFile = await run([...replayArgs(ledger.url), '--token-file', file], {
      TOKENLEDGER_TOKEN: 'tlk_live_env',
    });
    expect(fromFile.status).toBe(0);
    expect(new Set(ledger.seen)).toEqual(new Set(['Bearer tlk_live_file']));
  });

  it('without a token, or with an empty or missing token file, exits 2 before any request', async () => {
    const none = await run(replayArgs(ledger.url));
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('no operator token');
    const empty = path.join(dir, 'empty');
    fs.writeFileSync(empty, '\n');
    expect((await run([...replayArgs(ledger.url), '--token-file', empty])).status).toBe(2);
    expect(
      (await run([...replayArgs(ledger.url), '--token-file', path.join(dir, 'nope')])).status,
    ).toBe(2);
    expect(ledger.seen).toEqual([]);
  });

  it('exits 4 when the server answers with an error, with its problem details; --json gives code "refused" and the problem', async () => {
    ledger.refuse = true;
    const r = await run(replayArgs(ledger.url), { TOKENLEDGER_TOKEN: 't' });
    expect(r.status).toBe(4);
    expect(r.stderr).toContain('HTTP 403 forbidden: missing scope: ledger:replay (request req-42)');
    const json = await run([...replayArgs(ledger.url), '--json'], { TOKENLEDGER_TOKEN: 't' });
    expect(json.status).toBe(4);
    expect(JSON.parse(json.stdout)).toEqual({
      ok: false,
      error: {
        code: 'refused',
        message: expect.stringContaining('HTTP 403'),
        problem: {
          type: 'about:blank',
          title: 'Forbidden',
          status: 403,
          detail: 'missing scope: ledger:replay',
          instance: '/v1/replays',
          code: 'forbidden',
          requestId: 'req-42',
        },
      },
    });
  });

  it('exits 3 when the ledger cannot be reached (tail exits 3 too when Kafka cannot, after the Kafka client retries)', async () => {
    const port = await closedPort();
    const r = await run(replayArgs(`http://127.0.0.1:${port}`), { TOKENLEDGER_TOKEN: 't' });
    expect(r.status).toBe(3);
    expect(r.stderr).toContain('ECONNREFUSED');
    const signer = signerFromSeed('tokenledger.local/ledger', Buffer.alloc(32, 1));
    const key = verifierKey(signer.name, signer.publicKey);
    const check = ['checkpoint', 'check', '--url', `http://127.0.0.1:${port}`, '--log', 'x-0'];
    const json = await run([...check, '--log-key', key, '--json'], { TOKENLEDGER_TOKEN: 't' });
    expect(json.status).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { code: 'unreachable' } });
  });

  it('replay: no progress bar when stderr is not a terminal; exit 0 when completed, 1 when not; --json result', async () => {
    const done = await run(replayArgs(ledger.url), { TOKENLEDGER_TOKEN: 't' });
    expect([done.status, done.stderr]).toEqual([0, '']);
    expect(done.stdout).toBe('replay r1 completed: 2 of 2 events to replays\n');
    ledger.reset();
    ledger.replayStatus = 'failed';
    const failed = await run([...replayArgs(ledger.url), '--json'], { TOKENLEDGER_TOKEN: 't' });
    expect(failed.status).toBe(1);
    expect(JSON.parse(failed.stdout)).toEqual({
      ok: false,
      replayId: 'r1',
      status: 'failed',
      done: 2,
      total: 2,
      target: 'replays',
      error: 'target topic unknown',
    });
  });

  it('verify --json: the summary as JSON (hashes in base64) with exit 0, the failure with exit 1', async () => {
    const prefix = 'tokenledger.local/ledger';
    const signer = signerFromSeed(prefix, Buffer.alloc(32, 9));
    const key = verifierKey(signer.name, signer.publicKey);
    const file = path.join(dir, 'bundle.ndjson');
    fs.writeFileSync(file, buildBundle({ logId: 'tokens.lifecycle-0', prefix, size: 5, signer }));
    const ok = await run(['verify', file, '--log-key', key, '--json']);
    expect([ok.status, ok.stderr]).toEqual([0, '']);
    const summary = JSON.parse(ok.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({
      ok: true,
      kind: 'range',
      logId: 'tokens.lifecycle-0',
      treeSize: 5,
      from: 0,
      to: 5,
      keys: [key],
    });
    expect(Buffer.from(summary.rootHash as string, 'base64')).toHaveLength(32);
    const other = signerFromSeed(prefix, Buffer.alloc(32, 10));
    const bad = await run([
      'verify',
      file,
      '--log-key',
      verifierKey(other.name, other.publicKey),
      '--json',
    ]);
    expect(bad.status).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({
      ok: false,
      error: { code: 'checkpoint-failed' },
    });
  });

  it('completion: bash and zsh scripts that name every command; an unknown shell exits 2', async () => {
    const bash = await run(['completion', 'bash']);
    expect(bash.status).toBe(0);
    expect(bash.stdout).toContain('complete -F _tokenledger tokenledger');
    const zsh = await run(['completion', 'zsh']);
    expect(zsh.status).toBe(0);
    expect(zsh.stdout).toContain('compdef _tokenledger tokenledger');
    for (const script of [bash.stdout, zsh.stdout])
      for (const word of [
        'verify',
        'checkpoint',
        'tail',
        'replay',
        'tiles',
        '--token-file',
        '--json',
      ])
        expect(script).toContain(word);
    // bash parses the script it would source.
    const parsed = await new Promise<number | null>((resolve) => {
      const child = spawn('bash', ['-n'], { stdio: ['pipe', 'ignore', 'ignore'] });
      child.on('exit', resolve);
      child.stdin.end(bash.stdout);
    });
    expect(parsed).toBe(0);
    expect((await run(['completion', 'fish'])).status).toBe(2);
  });

  it('completion --json: the shell and the same script, in one object; an unknown shell is a JSON usage error', async () => {
    for (const shell of ['bash', 'zsh']) {
      const plain = await run(['completion', shell]);
      const json = await run(['completion', shell, '--json']);
      expect([json.status, json.stderr]).toEqual([0, '']);
      expect(json.stdout.endsWith('}\n')).toBe(true);
      expect(JSON.parse(json.stdout)).toEqual({ shell, script: plain.stdout });
    }
    const fish = await run(['completion', 'fish', '--json']);
    expect(fish.status).toBe(2);
    expect(JSON.parse(fish.stdout)).toEqual({
      ok: false,
      error: { code: 'usage', message: 'completion: unknown shell "fish" (bash, zsh)' },
    });
  });
});

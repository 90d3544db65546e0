import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import {
  consistencyProof,
  cosignerFromSeed,
  formatCheckpoint,
  leafHash,
  rootHash,
  signNote,
  signerFromSeed,
  trustPolicy,
  verifierKey,
  type Cosigner,
  type NoteSigner,
  type TrustPolicy,
} from '@tokenledger/ledger-core';
import { watchOnce } from './watch';
import { CLI_MAIN, runCli } from './test-support/run-cli';

/**
 * A stand-in ledger whose answers the test controls: it can serve honest checkpoints, a forged
 * one, a rolled-back one, or a fork. Local HTTP only: the monitor is what is under test.
 */
class FakeLedger {
  leaves: Buffer[] = [];
  signer: NoteSigner = signerFromSeed('example.test/ledger', Buffer.alloc(32, 1));
  readonly key = verifierKey(this.signer.name, this.signer.publicKey);
  /** Overrides what /checkpoint serves (forgery, rollback). */
  note: string | undefined;
  /** Overrides what /logs lists (a vanished or shrunk log); `undefined`: the honest listing. */
  listing: Array<{ logId: string; size: number }> | undefined;
  /** Witnesses whose cosignature lines follow the log's signature on every served checkpoint. */
  cosigners: Cosigner[] = [];
  server: Server;
  url = '';

  constructor() {
    this.server = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      const json = (body: unknown): void => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(body));
      };
      if (u.pathname === '/v1/ledger/keys')
        return json({ keys: [{ name: this.signer.name, verifierKey: this.key, active: true }] });
      if (u.pathname === '/v1/ledger/logs')
        return json({
          logs: this.listing ?? [{ logId: 'tokens.lifecycle-0', size: this.leaves.length }],
        });
      if (u.pathname === '/v1/ledger/logs/tokens.lifecycle-0/checkpoint') {
        if (this.listing?.length === 0) {
          res.statusCode = 404;
          return res.end('no checkpoint');
        }
        return res.end(this.note ?? this.sign(this.leaves.length, this.signer));
      }
      if (u.pathname.endsWith('/proofs/consistency')) {
        const from = Number(u.searchParams.get('from'));
        const to = Number(u.searchParams.get('to'));
        return json({
          hashes: consistencyProof(from, to, this.leaves.slice(0, to)).map((h) =>
            h.toString('base64'),
          ),
        });
      }
      res.statusCode = 404;
      res.end();
    });
  }

  sign(size: number, signer: NoteSigner, leaves = this.leaves): string {
    const body = formatCheckpoint({
      origin: 'example.test/ledger/tokens.lifecycle-0',
      size,
      rootHash: rootHash(leaves.slice(0, size)),
    });
    return (
      signNote(body, signer) + this.cosigners.map((w) => w.cosign(body, 1_800_000_000)).join('')
    );
  }

  append(n: number, tag = 'a'): void {
    for (let i = 0; i < n; i += 1)
      this.leaves.push(leafHash(Buffer.from(`${tag}${this.leaves.length}`)));
  }

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
}

const w1 = cosignerFromSeed('witness.test/w1', Buffer.alloc(32, 21));
const w2 = cosignerFromSeed('witness.test/w2', Buffer.alloc(32, 22));
const policy = (ledger: FakeLedger, witnesses: string[] = [], quorum?: number): TrustPolicy => {
  const built = trustPolicy({
    originPrefix: 'example.test/ledger',
    logKeys: [ledger.key],
    witnesses,
    ...(quorum !== undefined ? { quorum } : {}),
  });
  if (!built.ok) throw new Error(built.error.message);
  return built.policy;
};

/** The built command, with the operator token in TOKENLEDGER_TOKEN. */
const cli = (args: string[]) => runCli(args, { TOKENLEDGER_TOKEN: 'tlk_live_x' });

describe('tokenledger checkpoint watch (monitor)', () => {
  const ledger = new FakeLedger();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tl-monitor-'));
  const round = () =>
    watchOnce({ url: ledger.url, token: 'tlk_live_x', dir, trust: policy(ledger) });

  beforeAll(() => ledger.start());
  afterAll(() => new Promise((r) => ledger.server.close(r)));

  it('accepts checkpoints that extend the last one seen', async () => {
    ledger.append(5);
    expect(await round()).toMatchObject([{ ok: true }]);
    ledger.append(7);
    expect(await round()).toMatchObject([
      { ok: true, message: expect.stringContaining('size 12 verified and consistent') },
    ]);
  });

  it('flags a checkpoint signed by another key (forgery) and keeps the last good one', async () => {
    ledger.note = ledger.sign(12, signerFromSeed('example.test/ledger', Buffer.alloc(32, 2)));
    expect(await round()).toMatchObject([
      { ok: false, message: expect.stringContaining('does not verify') },
    ]);
    ledger.note = undefined;
    expect(await round()).toMatchObject([{ ok: true }]);
  });

  it('flags a rollback to a smaller tree', async () => {
    ledger.note = ledger.sign(8, ledger.signer);
    expect(await round()).toMatchObject([
      { ok: false, message: expect.stringContaining('ROLLBACK') },
    ]);
    ledger.note = undefined;
  });

  it('flags a fork: a larger tree that does not extend the saved one', async () => {
    const forked = [
      ...ledger.leaves.slice(0, 10),
      ...Array.from({ length: 6 }, (_, i) => leafHash(Buffer.from(`fork${i}`))),
    ];
    const honest = ledger.leaves;
    ledger.leaves = forked; // consistency proofs now come from the forked history
    ledger.note = ledger.sign(16, ledger.signer, forked);
    const [result] = await round();
    expect(result).toMatchObject({ ok: false, message: expect.stringContaining('FORK') });
    ledger.leaves = honest;
    ledger.note = undefined;
  });

  it('flags a saved log the ledger lists with fewer leaves (SHRUNK), and keeps the saved checkpoint', async () => {
    expect(await round()).toMatchObject([{ ok: true }]);
    ledger.listing = [{ logId: 'tokens.lifecycle-0', size: 4 }];
    expect(await round()).toEqual([
      {
        ok: false,
        logId: 'tokens.lifecycle-0',
        message: expect.stringMatching(
          /^SHRUNK: tokens.lifecycle-0 is listed with 4 leaves, below the saved checkpoint of size 12/,
        ),
      },
    ]);
    // Listed with size 0 is a shrink too, not a log to skip.
    ledger.listing = [{ logId: 'tokens.lifecycle-0', size: 0 }];
    expect(await round()).toMatchObject([{ ok: false, message: expect.stringMatching(/^SHRUNK/) }]);
    ledger.listing = undefined;
    expect(await round()).toMatchObject([{ ok: true }]);
  });

  it('flags a saved log the ledger no longer lists (DISAPPEARED)', async () => {
    ledger.listing = [];
    expect(await round()).toEqual([
      {
        ok: false,
        logId: 'tokens.lifecycle-0',
        message: expect.stringMatching(/^DISAPPEARED: tokens.lifecycle-0 is no longer listed/),
      },
    ]);
    ledger.listing = undefined;
  });

  it('the command exits 1 with an ALERT line for a shrunk and for a vanished log, 0 when all is well', async () => {
    const args = ['checkpoint', 'watch', '--url', ledger.url, '--dir', dir];
    const pin = ['--log-key', ledger.key, '--origin-prefix', 'example.test/ledger', '--once'];
    const good = await cli([...args, ...pin]);
    expect([good.status, good.stdout]).toEqual([
      0,
      expect.stringMatching(/ OK tokens.lifecycle-0: size 12 verified/),
    ]);
    ledger.listing = [{ logId: 'tokens.lifecycle-0', size: 3 }];
    const shrunk = await cli([...args, ...pin]);
    expect([shrunk.status, shrunk.stdout]).toEqual([
      1,
      expect.stringMatching(/^\S+ ALERT SHRUNK: tokens.lifecycle-0/),
    ]);
    ledger.listing = [];
    const gone = await cli([...args, ...pin]);
    expect([gone.status, gone.stdout]).toEqual([
      1,
      expect.stringMatching(/^\S+ ALERT DISAPPEARED: tokens.lifecycle-0/),
    ]);
    ledger.listing = undefined;
  });

  /** `checkpoint check` of tokens.lifecycle-0 on the stand-in ledger, its key pinned. */
  const checkArgs = (saved: string): string[] => [
    'checkpoint',
    'check',
    '--url',
    ledger.url,
    '--log',
    'tokens.lifecycle-0',
    '--saved',
    saved,
    '--log-key',
    ledger.key,
    '--origin-prefix',
    'example.test/ledger',
  ];

  it('checkpoint check reports a vanished log with a saved checkpoint (DISAPPEARED, exit 1)', async () => {
    const saved = path.join(dir, 'tokens.lifecycle-0.checkpoint');
    ledger.listing = [];
    const r = await cli(checkArgs(saved));
    expect([r.status, r.stdout]).toEqual([
      1,
      expect.stringMatching(/^ALERT DISAPPEARED: tokens.lifecycle-0 has no checkpoint any more/),
    ]);
    ledger.listing = undefined;
  });

  it('requires the pinned quorum of witness cosignatures on the served checkpoint', async () => {
    const two = policy(ledger, [w1.verifierKey, w2.verifierKey], 2);
    const witnessed = () => watchOnce({ url: ledger.url, token: 'tlk_live_x', dir, trust: two });
    ledger.cosigners = [w1];
    expect(await witnessed()).toMatchObject([
      { ok: false, message: expect.stringContaining('quorum-not-met') },
    ]);
    ledger.cosigners = [w1, w2];
    expect(await witnessed()).toMatchObject([
      { ok: true, message: expect.stringContaining('2 of quorum 2 witnesses') },
    ]);
    ledger.cosigners = [];
  });

  it('checkpoint check --json: one object with ok, logId and the message; exit 1 and ok false on an alert', async () => {
    const saved = path.join(dir, 'json-check.checkpoint');
    const args = [...checkArgs(saved), '--json'];
    const first = await cli(args);
    expect([first.status, first.stderr]).toEqual([0, '']);
    expect(JSON.parse(first.stdout)).toEqual({
      ok: true,
      logId: 'tokens.lifecycle-0',
      message: 'tokens.lifecycle-0: size 12 verified; saved',
    });
    ledger.append(4);
    const grown = await cli(args);
    expect(JSON.parse(grown.stdout)).toEqual({
      ok: true,
      logId: 'tokens.lifecycle-0',
      message:
        'tokens.lifecycle-0: size 16 verified and consistent with the saved checkpoint; saved',
    });
    ledger.note = ledger.sign(10, ledger.signer);
    const rolledBack = await cli(args);
    expect(rolledBack.status).toBe(1);
    expect(JSON.parse(rolledBack.stdout)).toEqual({
      ok: false,
      logId: 'tokens.lifecycle-0',
      message: 'ROLLBACK: tokens.lifecycle-0: latest size 10 is below the saved size 16',
    });
    ledger.note = undefined;
  });

  it('checkpoint watch --once --json: one object per log with the time of the round', async () => {
    const watchDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tl-monitor-json-'));
    const args = ['checkpoint', 'watch', '--url', ledger.url, '--dir', watchDir, '--once'];
    const pin = ['--log-key', ledger.key, '--origin-prefix', 'example.test/ledger', '--json'];
    const before = Date.now();
    const good = await cli([...args, ...pin]);
    expect([good.status, good.stderr]).toEqual([0, '']);
    const lines = good.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    const round = JSON.parse(lines[0] ?? '') as { time: string };
    expect(round).toEqual({
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) as unknown,
      ok: true,
      logId: 'tokens.lifecycle-0',
      message: `tokens.lifecycle-0: size ${ledger.leaves.length} verified; saved`,
    });
    expect(Date.parse(round.time)).toBeGreaterThanOrEqual(before - 1000);
    ledger.listing = [];
    const gone = await cli([...args, ...pin]);
    expect(gone.status).toBe(1);
    expect(JSON.parse(gone.stdout)).toMatchObject({
      ok: false,
      logId: 'tokens.lifecycle-0',
      message: expect.stringMatching(
        /^DISAPPEARED: tokens.lifecycle-0 is no longer listed/,
      ) as unknown,
    });
    ledger.listing = undefined;
    fs.rmSync(watchDir, { recursive: true, force: true });
  });

  it("checkpoint watch --json without --once: the first round's line, then it keeps watching", async () => {
    const watchDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tl-monitor-json-'));
    const child = spawn(
      process.execPath,
      [
        CLI_MAIN,
        ...['checkpoint', 'watch', '--url', ledger.url, '--dir', watchDir, '--interval', '60'],
        ...['--log-key', ledger.key, '--origin-prefix', 'example.test/ledger', '--json'],
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, TOKENLEDGER_TOKEN: 'tlk_live_x' },
      },
    );
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      void exited.then((code) => reject(new Error(`watch exited (${code}) before a line`)));
    });
    expect(JSON.parse(line)).toMatchObject({ ok: true, logId: 'tokens.lifecycle-0' });
    expect(child.exitCode).toBeNull();
    child.kill('SIGTERM');
    await exited;
    fs.rmSync(watchDir, { recursive: true, force: true });
  });

  it('refuses to run without a pinned log key, saying why (exit 2)', async () => {
    const r = await cli(['checkpoint', 'watch', '--url', ledger.url, '--once']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('no log key pinned');
    expect(r.stdout).toBe('');
  });
});

import * as fs from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  consistencyProof,
  formatCheckpoint,
  leafHash,
  rootHash,
  signNote,
  signerFromSeed,
  verifierKey,
  type NoteSigner,
} from '@tokenledger/ledger-core';
import { watchOnce } from './watch';

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
        return json({ logs: [{ logId: 'tokens.lifecycle-0', size: this.leaves.length }] });
      if (u.pathname.endsWith('/checkpoint'))
        return res.end(this.note ?? this.sign(this.leaves.length, this.signer));
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
    return signNote(
      formatCheckpoint({
        origin: 'example.test/ledger/tokens.lifecycle-0',
        size,
        rootHash: rootHash(leaves.slice(0, size)),
      }),
      signer,
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

describe('tokenledger checkpoint watch (monitor)', () => {
  const ledger = new FakeLedger();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tl-monitor-'));
  const round = () =>
    watchOnce({ url: ledger.url, token: 'tlk_live_x', dir, trustedKeys: [ledger.key] });

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
});

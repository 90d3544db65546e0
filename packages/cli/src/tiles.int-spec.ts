import * as fs from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  encodeEntryBundle,
  formatCheckpoint,
  hashTile,
  leafHash,
  parseTilePath,
  rangeRoot,
  rootHash,
  servedTile,
  signNote,
  signerFromSeed,
  tileNodes,
} from '@tokenledger/ledger-core';
import { readTiledLog } from '@tokenledger/testing';
import { runCli } from './test-support/run-cli';
import { exportTiles } from './tiles';

const LOG = 'tokens.lifecycle-0';
const signer = signerFromSeed('example.test/ledger', Buffer.alloc(32, 3));

/**
 * A stand-in ledger serving one log's tiles (built with ledger-core, which is not what is under
 * test here): it records every request, and can grow the log right after serving a checkpoint.
 */
class TilesLedger {
  leaves: Buffer[] = [];
  requests: string[] = [];
  /** Leaves appended just after the next checkpoint is served (a log growing during an export). */
  growAfterCheckpoint = 0;
  size = 0;
  server: Server;
  url = '';

  constructor() {
    this.server = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      this.requests.push(u.pathname);
      if (req.headers.authorization !== 'Bearer t0ken') {
        res.statusCode = 401;
        return res.end();
      }
      if (u.pathname === '/v1/ledger/logs') {
        res.setHeader('content-type', 'application/json');
        return res.end(JSON.stringify({ logs: [{ logId: LOG, checkpointSize: this.size }] }));
      }
      const prefix = `/v1/ledger/tiles/${LOG}/`;
      const rest = u.pathname.startsWith(prefix) ? u.pathname.slice(prefix.length) : '';
      if (rest === 'checkpoint') {
        const note = this.note();
        if (this.growAfterCheckpoint > 0) {
          this.append(this.growAfterCheckpoint);
          this.growAfterCheckpoint = 0;
        }
        return res.end(note);
      }
      const parsed = parseTilePath(rest);
      if (!parsed.ok || !servedTile(parsed.tile, this.size).ok) {
        res.statusCode = 404;
        return res.end();
      }
      const { treeLevel, start, count } = tileNodes(parsed.tile);
      const ids = Array.from({ length: count }, (_, i) => start + i);
      const hashes = this.leaves.map(leafHash);
      const span = 2 ** treeLevel;
      res.end(
        parsed.tile.kind === 'entries'
          ? encodeEntryBundle(ids.map((i) => this.leaves[i] as Buffer))
          : hashTile(
              ids.map((i) => rangeRoot(i * span, (i + 1) * span, (j) => hashes[j] as Buffer)),
            ),
      );
    });
  }

  append(n: number): void {
    for (let i = 0; i < n; i += 1) this.leaves.push(Buffer.from(`entry ${this.leaves.length}`));
    this.size = this.leaves.length;
  }

  note(): string {
    return signNote(
      formatCheckpoint({
        origin: `example.test/ledger/${LOG}`,
        size: this.size,
        rootHash: rootHash(this.leaves.map(leafHash)),
      }),
      signer,
    );
  }

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
}

describe('tokenledger tiles export (against a stand-in ledger)', () => {
  const ledger = new TilesLedger();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tl-tiles-export-'));
  const fromDir = () =>
    readTiledLog((p) => {
      const file = path.join(dir, LOG, p);
      return Promise.resolve(fs.existsSync(file) ? fs.readFileSync(file) : undefined);
    });
  const run = () => exportTiles({ url: ledger.url, token: 't0ken', dir, concurrency: 3 });

  beforeAll(() => ledger.start());
  afterAll(async () => {
    await new Promise((r) => ledger.server.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes every tile and the checkpoint, which the independent client verifies', async () => {
    ledger.append(600);
    expect(await run()).toEqual([{ logId: LOG, size: 600, written: 7, kept: 0 }]);
    const log = await fromDir();
    expect(log.size).toBe(600);
    expect(log.checkpoint).toBe(ledger.note());
    expect(fs.readdirSync(dir)).toEqual([LOG]);
  });

  it('fetches only what is new on the next run; full tiles are kept, old partial tiles stay', async () => {
    ledger.append(100);
    ledger.requests = [];
    // 700: level-0 tiles 0 and 1 full (kept), 2 partial (188), level 1 partial (2).
    expect(await run()).toEqual([{ logId: LOG, size: 700, written: 3, kept: 4 }]);
    expect(ledger.requests).not.toContain(`/v1/ledger/tiles/${LOG}/tile/0/000`);
    expect(ledger.requests).not.toContain(`/v1/ledger/tiles/${LOG}/tile/entries/001`);
    expect((await fromDir()).size).toBe(700);
    expect(fs.existsSync(path.join(dir, LOG, 'tile/0/002.p/88'))).toBe(true);
    expect(fs.readdirSync(path.join(dir, LOG, 'tile/0')).filter((f) => f.endsWith('.tmp'))).toEqual(
      [],
    );
  });

  it('starts a log over when a partial tile fills up during the export', async () => {
    // The checkpoint says 700; right after, the log reaches 800 and tile 2 is full: its 188-wide
    // partial is gone (404). The export must end at a consistent checkpoint (800).
    ledger.growAfterCheckpoint = 100;
    const [result] = await run();
    expect(result?.size).toBe(800);
    const log = await fromDir();
    expect(log.size).toBe(800);
    expect(log.checkpoint).toBe(ledger.note());
  });

  it("the command with --json: one object with the directory and each log's counts (exit 0); a refusal is a JSON error (exit 4)", async () => {
    ledger.append(50);
    const args = ['tiles', 'export', dir, '--url', ledger.url, '--json'];
    const r = await runCli(args, { TOKENLEDGER_TOKEN: 't0ken' });
    expect([r.status, r.stderr]).toEqual([0, '']);
    // 850: the partial tiles (level 0 and entries at 82, level 1 at 3) are written; the full
    // level-0 and entries tiles 0-2 are kept.
    expect(JSON.parse(r.stdout)).toEqual({
      ok: true,
      dir,
      logs: [{ logId: LOG, size: 850, written: 3, kept: 6 }],
    });
    expect((await fromDir()).size).toBe(850);
    const refused = await runCli(args, { TOKENLEDGER_TOKEN: 'wrong' });
    expect(refused.status).toBe(4);
    expect(JSON.parse(refused.stdout)).toMatchObject({
      ok: false,
      error: { code: 'refused', message: expect.stringContaining('HTTP 401') as unknown },
    });
  });

  it('fails clearly when the ledger refuses the token', async () => {
    await expect(exportTiles({ url: ledger.url, token: 'wrong', dir })).rejects.toThrow(/HTTP 401/);
  });
});

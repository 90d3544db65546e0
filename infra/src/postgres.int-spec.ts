import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { brokerAnswers } from './kafka-broker';
import { canConnect, resolvePostgres } from './postgres';

describe('PostgreSQL resolution', () => {
  it('uses DATABASE_URL as given and starts nothing', async () => {
    const pg = await resolvePostgres({
      dataDir: '/nonexistent',
      database: 'ignored',
      env: { DATABASE_URL: 'postgres://someone@db.example:5432/x' },
    });
    expect(pg).toMatchObject({
      source: 'DATABASE_URL',
      url: 'postgres://someone@db.example:5432/x',
      startedHere: false,
    });
  });

  it('creates, starts and stops a private cluster with initdb/pg_ctl when no server answers', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tl-private-pg-'));
    const port = 55000 + Math.floor(Math.random() * 500);
    const pg = await resolvePostgres({
      dataDir,
      database: 'tokenledger_private',
      env: {},
      localUrl: 'postgres://postgres@127.0.0.1:1/postgres',
      privatePort: port,
    });
    try {
      expect(pg.source).toBe('private-cluster');
      expect(pg.url).toBe(`postgres://postgres@127.0.0.1:${port}/tokenledger_private`);
      expect(await canConnect(pg.url)).toBe(true);
      expect(fs.existsSync(path.join(dataDir, 'PG_VERSION'))).toBe(true);
    } finally {
      await pg.stop();
    }
    expect(await canConnect(pg.url)).toBe(false);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
});

describe('broker probe', () => {
  it('reports a closed port as not answering', async () => {
    expect(await brokerAnswers('127.0.0.1', 1, 500)).toBe(false);
  });
});

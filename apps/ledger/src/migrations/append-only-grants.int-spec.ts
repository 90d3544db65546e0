import { randomBytes } from 'node:crypto';
import { buildEvent, encodeEvent, uuidv7 } from '@tokenledger/contracts';
import { freshDatabase, type TestDatabase } from '@tokenledger/testing';
import { DataSource } from 'typeorm';
import type { LedgerConfig } from '../config';
import { LedgerRepository } from '../repositories/ledger.repository';
import { AppenderService } from '../services/appender.service';
import { migrations } from '.';

/** The ledger running as an ordinary (non-superuser) role that owns its schema, as in production. */
describe('append-only grants (migration 304), real PostgreSQL, non-superuser app role', () => {
  let db: TestDatabase;
  let admin: DataSource;
  let app: DataSource;
  const role = `tl_ledger_${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    db = await freshDatabase();
    admin = await new DataSource({ type: 'postgres', url: db.url }).initialize();
    await admin.query(`CREATE ROLE ${role} LOGIN`);
    await admin.query(`GRANT CREATE ON DATABASE "${db.name}" TO ${role}`);
    await admin.query(`CREATE SCHEMA ledger AUTHORIZATION ${role}`);
    const url = new URL(db.url);
    url.username = role;
    url.password = '';
    app = await new DataSource({
      type: 'postgres',
      url: url.toString(),
      schema: 'ledger',
      migrations,
      migrationsRun: true,
    }).initialize();
  });
  afterAll(async () => {
    await app.destroy();
    await admin.destroy();
    await db.drop();
    const cleanup = await new DataSource({
      type: 'postgres',
      url: db.url.replace(`/${db.name}`, '/postgres'),
    }).initialize();
    await cleanup.query(`DROP ROLE IF EXISTS ${role}`);
    await cleanup.destroy();
  });

  it('the app role appends, but cannot UPDATE, DELETE or TRUNCATE its ledger tables, even with the triggers disabled', async () => {
    const [me] = await app.query<Array<{ u: string; su: boolean }>>(
      'SELECT current_user AS u, usesuper AS su FROM pg_user WHERE usename = current_user',
    );
    expect(me).toEqual({ u: role, su: false });
    const appender = new AppenderService(
      new LedgerRepository(app, { DB_SCHEMA: 'ledger' } as LedgerConfig),
    );
    const records = Array.from({ length: 3 }, (_, i) => {
      const event = buildEvent({
        type: 'tokenledger.token.expired.v1',
        source: '/tokenledger/test',
        actor: 'system',
        data: { tokenId: uuidv7(), expiredAt: '2026-11-28T00:00:00.000Z' },
      });
      return { offset: i, timestamp: 1_800_000_000_000 + i, value: encodeEvent(event) };
    });
    expect((await appender.append('t.grants', 0, records)).appended).toBe(3);

    for (const statement of [
      'UPDATE ledger.leaves SET kind = kind',
      'DELETE FROM ledger.event_ids',
      'TRUNCATE ledger.checkpoints',
    ]) {
      await expect(app.query(statement)).rejects.toThrow(/permission denied/); // checked before the triggers
    }
    // The owner may switch its triggers off; the missing privileges still refuse the change.
    for (const table of ['leaves', 'event_ids', 'checkpoints'])
      await app.query(`ALTER TABLE ledger.${table} DISABLE TRIGGER USER`);
    for (const statement of [
      'UPDATE ledger.leaves SET kind = kind',
      'DELETE FROM ledger.event_ids',
      'TRUNCATE ledger.checkpoints',
    ]) {
      await expect(app.query(statement)).rejects.toThrow(/permission denied/);
    }
    const [count] = await app.query<Array<{ n: number }>>(
      'SELECT count(*)::int AS n FROM ledger.leaves',
    );
    expect(count?.n).toBe(3);
  });
});

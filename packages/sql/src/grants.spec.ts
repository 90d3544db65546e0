import { APPEND_ONLY, planGrants, privilegeSql } from './grants';

describe('privilegeSql', () => {
  it('passes the plain privileges and quotes the columns of a column UPDATE', () => {
    expect(privilegeSql('SELECT')).toBe('SELECT');
    expect(privilegeSql('UPDATE (size, next_offset)')).toBe('UPDATE ("size", "next_offset")');
  });

  it('refuses anything that is not a plain privilege or a list of plain column names', () => {
    for (const bad of ['TRUNCATE', 'UPDATE (a;drop)', 'UPDATE ()', 'UPDATE (A)', 'UPDATE(a)'])
      expect(() => privilegeSql(bad as 'SELECT')).toThrow(/invalid table privilege/);
  });
});

describe('planGrants', () => {
  it('gives each table its declared privileges, the migrations table SELECT, the rest otherTables', () => {
    const { plan, problems } = planGrants(['leaves', 'logs', 'migrations', 'new_table'], {
      tables: { logs: ['SELECT', 'UPDATE (size)'], leaves: APPEND_ONLY },
      otherTables: APPEND_ONLY,
    });
    expect(problems).toEqual([]);
    expect(Object.fromEntries(plan)).toEqual({
      leaves: ['SELECT', 'INSERT'],
      logs: ['SELECT', 'UPDATE (size)'],
      migrations: ['SELECT'],
      new_table: ['SELECT', 'INSERT'],
    });
  });

  it('names an undeclared table (without otherTables) and a declared table that does not exist', () => {
    const { problems } = planGrants(['tokens', 'policies'], {
      tables: { tokens: ['SELECT'], tokenz: ['SELECT'] },
    });
    expect(problems).toEqual([
      'grants name table "tokenz", which the schema does not have',
      'table "policies" has no grants declared for the app\'s role',
    ]);
  });
});

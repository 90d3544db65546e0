import { MAX_PROOF_LINES, formatAddCheckpointBody, parseAddCheckpointBody } from './request';

// The example request body of c2sp.org/tlog-witness ("add-checkpoint").
const SPEC_EXAMPLE = `old 20852014
PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=
jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=
5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=
/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=

example.com/behind-the-sofa
20852163
CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=
— example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=
`;

const parse = (s: string | Buffer) =>
  parseAddCheckpointBody(typeof s === 'string' ? Buffer.from(s, 'utf8') : s);
const HASH = Buffer.alloc(32, 9).toString('base64');

describe('add-checkpoint request body', () => {
  it("parses the spec's example", () => {
    const r = parse(SPEC_EXAMPLE);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.request.oldSize).toBe(20852014);
    expect(r.request.proof.map((p) => p.toString('base64'))).toEqual(
      SPEC_EXAMPLE.split('\n').slice(1, 5),
    );
    expect(r.request.note.startsWith('example.com/behind-the-sofa\n20852163\n')).toBe(true);
    expect(r.request.note.endsWith('9Q=\n')).toBe(true);
  });

  it('round-trips through formatAddCheckpointBody', () => {
    const r = parse(SPEC_EXAMPLE);
    if (!r.ok) throw new Error(r.error.message);
    expect(formatAddCheckpointBody(r.request)).toBe(SPEC_EXAMPLE);
  });

  it('accepts old 0 with no proof lines, and 63 proof lines', () => {
    expect(parse('old 0\n\nnote\n')).toMatchObject({
      ok: true,
      request: { oldSize: 0, proof: [] },
    });
    const proof63 = `${HASH}\n`.repeat(MAX_PROOF_LINES);
    expect(parse(`old 5\n${proof63}\nnote\n`)).toMatchObject({ ok: true });
  });

  it.each([
    ['empty body', ''],
    ['no old line', '\nnote\n'],
    ['leading zero', 'old 05\n\nnote\n'],
    ['negative', 'old -1\n\nnote\n'],
    ['two spaces', 'old  5\n\nnote\n'],
    ['beyond 2^53', 'old 9007199254740993\n\nnote\n'],
    ['no empty line', `old 5\n${HASH}\n`],
    ['no checkpoint', `old 5\n${HASH}\n\n`],
    ['proof line not base64', 'old 5\nnot base64!\n\nnote\n'],
    ['proof line of 31 bytes', `old 5\n${Buffer.alloc(31).toString('base64')}\n\nnote\n`],
    ['non-canonical base64', `old 5\n${HASH.slice(0, 42)}B=\n\nnote\n`],
    ['64 proof lines', `old 5\n${`${HASH}\n`.repeat(64)}\nnote\n`],
    ['CRLF', 'old 5\r\n\r\nnote\n'],
  ])('rejects %s', (_, body) => {
    expect(parse(body)).toMatchObject({ ok: false, error: { code: 'malformed-request' } });
  });

  it('rejects a body that is not UTF-8', () => {
    expect(
      parse(Buffer.from([0x6f, 0x6c, 0x64, 0x20, 0x30, 0x0a, 0x0a, 0xff, 0x0a])),
    ).toMatchObject({ ok: false });
  });
});

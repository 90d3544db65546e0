import { leafBytes, parseLeaf, sha256Hex, type LeafContent, type RecordPosition } from './leaf';
import { isLogId, logIdOf, parseLogId } from './log-id';

const at: RecordPosition = {
  topic: 'tokens.lifecycle',
  partition: 2,
  offset: 41,
  timestamp: 1_795_800_000_123,
};
const event = {
  specversion: '1.0',
  id: '0190b6a0-0000-7000-8000-000000000001',
  type: 'tokenledger.token.revoked.v1',
  subject: 'tok-1',
  data: { reason: 'é' },
};
const sha = sha256Hex(Buffer.from('record'));
const contents: LeafContent[] = [
  { kind: 'event', event },
  { kind: 'duplicate', eventId: event.id, sha256: sha, firstIndex: 7 },
  { kind: 'rejected', reason: 'not-json: not JSON', sha256: sha, size: 15 },
];

describe('leafBytes', () => {
  it('writes the RFC 8785 form of {v, position, kind, content}: these bytes are stored and MUST NOT change', () => {
    expect(
      leafBytes(at, {
        kind: 'duplicate',
        eventId: 'e1',
        sha256: 'ab'.repeat(32),
        firstIndex: 2,
      }).toString('utf8'),
    ).toBe(
      `{"eventId":"e1","firstIndex":2,"kind":"duplicate","offset":41,"partition":2,"sha256":"${'ab'.repeat(32)}","timestamp":1795800000123,"topic":"tokens.lifecycle","v":1}`,
    );
    expect(
      leafBytes(at, { kind: 'event', event: { subject: 's', id: 'i', type: 't' } }).toString(
        'utf8',
      ),
    ).toBe(
      '{"event":{"id":"i","subject":"s","type":"t"},"kind":"event","offset":41,"partition":2,"timestamp":1795800000123,"topic":"tokens.lifecycle","v":1}',
    );
  });
});

describe('parseLeaf', () => {
  it.each(contents.map((c) => [c.kind, c] as const))(
    'reads back a %s leaf, typed, and leafBytes of it gives the same bytes',
    (_kind, content) => {
      const bytes = leafBytes(at, content);
      const parsed = parseLeaf(bytes);
      if (!parsed.ok) throw new Error(parsed.error.message);
      expect(parsed.leaf).toEqual({ v: 1, ...at, ...content });
      const { v: _v, topic, partition, offset, timestamp, ...rest } = parsed.leaf;
      expect(leafBytes({ topic, partition, offset, timestamp }, rest).equals(bytes)).toBe(true);
    },
  );

  const text = (value: Record<string, unknown>): Buffer => Buffer.from(JSON.stringify(value));
  const canonical = (value: Record<string, unknown>): Buffer =>
    leafBytes(at, value as unknown as LeafContent);
  it.each<[string, Buffer, string]>([
    ['not UTF-8', Buffer.from([0x7b, 0xff, 0x7d]), 'not-json'],
    ['not JSON', Buffer.from('{"v":1'), 'not-json'],
    ['an array', Buffer.from('[1]'), 'not-json'],
    [
      'version 2',
      Buffer.from(
        leafBytes(at, contents[1] as LeafContent)
          .toString()
          .replace('"v":1', '"v":2'),
      ),
      'bad-version',
    ],
    [
      'a negative offset',
      Buffer.from(
        leafBytes(at, contents[1] as LeafContent)
          .toString()
          .replace('"offset":41', '"offset":-1'),
      ),
      'bad-position',
    ],
    [
      'a fractional partition',
      Buffer.from(
        leafBytes(at, contents[1] as LeafContent)
          .toString()
          .replace('"partition":2', '"partition":2.5'),
      ),
      'bad-position',
    ],
    ['an unknown kind', canonical({ kind: 'other' }), 'bad-kind'],
    [
      'an extra member',
      canonical({ kind: 'rejected', reason: 'r', sha256: sha, size: 1, note: 'x' }),
      'bad-content',
    ],
    ['a missing member', canonical({ kind: 'rejected', reason: 'r', sha256: sha }), 'bad-content'],
    [
      'an event without a subject',
      canonical({ kind: 'event', event: { id: 'i', type: 't' } }),
      'bad-content',
    ],
    ['an event that is a string', canonical({ kind: 'event', event: 'e' }), 'bad-content'],
    [
      'a duplicate with an upper-case sha256',
      canonical({ kind: 'duplicate', eventId: 'e', sha256: sha.toUpperCase(), firstIndex: 0 }),
      'bad-content',
    ],
    [
      'keys out of canonical order',
      text({ v: 1, ...at, kind: 'rejected', reason: 'r', sha256: sha, size: 1 }),
      'not-canonical',
    ],
    [
      'whitespace',
      Buffer.from(
        ` ${canonical({ kind: 'rejected', reason: 'r', sha256: sha, size: 1 }).toString()}`,
      ),
      'not-canonical',
    ],
    [
      'an escaped lone surrogate',
      Buffer.from(
        canonical({ kind: 'rejected', reason: 'XX', sha256: sha, size: 1 })
          .toString()
          .replace('XX', '\\ud800'),
      ),
      'not-canonical',
    ],
  ])('refuses %s', (_name, bytes, code) => {
    expect(parseLeaf(bytes)).toMatchObject({ ok: false, error: { code } });
  });
});

describe('log ids', () => {
  it('formats <topic>-<partition> and parses it back, splitting at the last dash', () => {
    expect(logIdOf('tl.tokens-usage', 12)).toBe('tl.tokens-usage-12');
    expect(parseLogId('tl.tokens-usage-12')).toEqual({
      ok: true,
      topic: 'tl.tokens-usage',
      partition: 12,
    });
    expect(parseLogId(logIdOf('a', 0))).toEqual({ ok: true, topic: 'a', partition: 0 });
  });

  it.each([
    '',
    'topic',
    'topic-',
    '-1',
    'topic-01',
    'topic-1.5',
    'top ic-1',
    'topic-99999999999',
    `${'t'.repeat(250)}-1`,
  ])('refuses %j', (id) => {
    expect(parseLogId(id)).toMatchObject({ ok: false, error: { code: 'malformed-log-id' } });
    expect(isLogId(id)).toBe(false);
  });
});

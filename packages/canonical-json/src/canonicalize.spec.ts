import { CanonicalJsonError, canonicalBytes, canonicalize } from './index';

function errorOf(run: () => unknown): CanonicalJsonError {
  try {
    run();
  } catch (error) {
    if (error instanceof CanonicalJsonError) return error;
    throw error;
  }
  throw new Error('expected a CanonicalJsonError');
}

describe('canonicalize', () => {
  it('writes no whitespace and sorts nested keys', () => {
    expect(canonicalize({ b: [1, { d: true, c: null }], a: 'x' })).toBe(
      '{"a":"x","b":[1,{"c":null,"d":true}]}',
    );
  });

  it('sorts integer-like keys as strings, not as numbers (JS enumerates them numerically)', () => {
    expect(canonicalize({ 10: 'ten', 9: 'nine', a: 'a', 1: 'one' })).toBe(
      '{"1":"one","10":"ten","9":"nine","a":"a"}',
    );
  });

  it('plain data (fast path) and the same data behind toJSON, boxes or a class (full path) give the same text', () => {
    class Point {
      constructor(
        readonly y: number,
        readonly x: number,
      ) {}
    }
    const nullProto = Object.assign(Object.create(null) as object, { b: 2, a: 1 });
    const plain = { p: { y: 2, x: 1 }, n: { b: 2, a: 1 }, s: 'é\u2028', list: [1.5, -0, 1e21] };
    const expected = '{"list":[1.5,0,1e+21],"n":{"a":1,"b":2},"p":{"x":1,"y":2},"s":"é\u2028"}';
    expect(canonicalize(plain)).toBe(expected);
    expect(canonicalize({ ...plain, n: nullProto })).toBe(expected);
    expect(canonicalize({ ...plain, p: new Point(2, 1), s: new String('é\u2028') })).toBe(expected);
    expect(canonicalize({ ...plain, p: { toJSON: () => ({ x: 1, y: 2 }) } })).toBe(expected);
  });

  it('omits undefined object members, as JSON.stringify does', () => {
    expect(canonicalize({ a: undefined, b: 1 })).toBe('{"b":1}');
  });

  it('calls toJSON with the member key (Date becomes its ISO string)', () => {
    const at = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6));
    const keyed = { toJSON: (key: string) => `key=${key}` };
    expect(canonicalize({ at, k: keyed, list: [keyed] })).toBe(
      '{"at":"2024-01-02T03:04:05.006Z","k":"key=k","list":["key=0"]}',
    );
    expect(canonicalize(keyed)).toBe('"key="');
  });

  it('unwraps boxed primitives', () => {
    expect(canonicalize([Object(1.5), Object('s'), Object(false)])).toBe('[1.5,"s",false]');
  });

  it('ignores symbol-keyed properties', () => {
    expect(canonicalize({ [Symbol('hidden')]: 1, shown: 2 })).toBe('{"shown":2}');
  });

  it('accepts shared (non-cyclic) references', () => {
    const shared = { x: 1 };
    expect(canonicalize({ a: shared, b: [shared, shared] })).toBe(
      '{"a":{"x":1},"b":[{"x":1},{"x":1}]}',
    );
  });

  it('escapes controls in lowercase hex, keeps surrogate pairs verbatim', () => {
    expect(canonicalize('\u001f\u007f\t\ud83d\ude00')).toBe('"\\u001f\u007f\\t\ud83d\ude00"');
  });

  it('canonicalBytes is the UTF-8 encoding of the text', () => {
    expect(canonicalBytes({ e: '€' })).toEqual(
      Buffer.from([0x7b, 0x22, 0x65, 0x22, 0x3a, 0x22, 0xe2, 0x82, 0xac, 0x22, 0x7d]),
    );
  });

  describe('errors name the failing path', () => {
    it.each<[string, () => unknown, string, string]>([
      [
        'NaN',
        () => canonicalize({ data: { items: [1, 2, NaN] } }),
        'non-finite-number',
        '$.data.items[2]',
      ],
      ['Infinity', () => canonicalize([Infinity]), 'non-finite-number', '$[0]'],
      ['bigint', () => canonicalize({ n: 1n }), 'bigint', '$.n'],
      ['function', () => canonicalize({ f: () => 1 }), 'function', '$.f'],
      ['symbol', () => canonicalize({ s: Symbol('x') }), 'symbol', '$.s'],
      ['undefined in array', () => canonicalize({ a: [1, undefined] }), 'undefined', '$.a[1]'],
      // eslint-disable-next-line no-sparse-arrays
      ['array hole', () => canonicalize([1, , 3]), 'undefined', '$[1]'],
      ['undefined root', () => canonicalize(undefined), 'undefined', '$'],
      ['Map', () => canonicalize({ 'odd key': new Map() }), 'unsupported-object', '$["odd key"]'],
      ['typed array', () => canonicalize({ b: new Uint8Array(2) }), 'unsupported-object', '$.b'],
      // RFC 8785 §3.2.2.2: lone surrogates MUST be rejected, in values and in keys, on both paths.
      ['lone high surrogate', () => canonicalize({ a: '\ud800' }), 'lone-surrogate', '$.a'],
      [
        'lone low surrogate in an array',
        () => canonicalize({ a: ['ok', 'x\udfff'] }),
        'lone-surrogate',
        '$.a[1]',
      ],
      ['reversed pair', () => canonicalize('\ude00\ud83d'), 'lone-surrogate', '$'],
      [
        'lone surrogate in a key',
        () => canonicalize({ b: 1, ['k\udc00']: 2 }),
        'lone-surrogate',
        '$["k\\udc00"]',
      ],
      [
        'lone surrogate in a nested key',
        () => canonicalize({ a: { ['\ud800']: 1 } }),
        'lone-surrogate',
        '$.a["\\ud800"]',
      ],
      [
        'lone surrogate behind toJSON (slow path)',
        () => canonicalize({ d: { toJSON: () => '\ud800' } }),
        'lone-surrogate',
        '$.d',
      ],
    ])('%s', (_name, run, code, path) => {
      const error = errorOf(run);
      expect(error.code).toBe(code);
      expect(error.path).toBe(path);
      expect(error.message.startsWith(`${path}: `)).toBe(true);
    });

    it('a lone surrogate in the key of an omitted (undefined) member is not written, so not refused', () => {
      expect(canonicalize({ a: 1, ['\ud800']: undefined })).toBe('{"a":1}');
    });

    it('cycles', () => {
      const root: Record<string, unknown> = { list: [] };
      const child: Record<string, unknown> = { up: root };
      (root.list as unknown[]).push(child);
      const error = errorOf(() => canonicalize(root));
      expect(error.code).toBe('cycle');
      expect(error.path).toBe('$.list[0].up');
    });
  });
});

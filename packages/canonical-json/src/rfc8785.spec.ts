// Test vectors from RFC 8785, "JSON Canonicalization Scheme (JCS)", June 2020
// (https://www.rfc-editor.org/rfc/rfc8785). Section numbers are cited on each test.
import { CanonicalJsonError, canonicalBytes, canonicalize } from './index';

function double(hex: string): number {
  return Buffer.from(hex, 'hex').readDoubleBE(0);
}

describe('RFC 8785 examples', () => {
  it('§3.2.2: sample object with numbers, string escapes and literals', () => {
    // The input of §3.2.2 as JSON text, parsed as a JCS implementation would receive it.
    const input: unknown = JSON.parse(`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\"\\/",
      "literals": [null, true, false]
    }`);
    expect(canonicalize(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  // §3.2.3: property sorting by UTF-16 code units, not code points or locale.
  const sortingInput = {
    '\u20ac': 'Euro Sign',
    '\r': 'Carriage Return',
    '\ufb33': 'Hebrew Letter Dalet With Dagesh',
    '1': 'One',
    '\ud83d\ude00': 'Emoji: Grinning Face',
    '\u0080': 'Control',
    '\u00f6': 'Latin Small Letter O With Diaeresis',
  };

  it('§3.2.3: sorts properties by UTF-16 code units', () => {
    expect(canonicalize(sortingInput)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control",' +
        '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",' +
        '"\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('§3.2.4: UTF-8 bytes of the sorting example', () => {
    const expectedHex = `
      7b 22 5c 72 22 3a 22 43 61 72 72 69 61 67 65 20 52 65 74 75 72 6e 22 2c 22 31 22 3a
      22 4f 6e 65 22 2c 22 c2 80 22 3a 22 43 6f 6e 74 72 6f 6c 22 2c 22 c3 b6 22 3a 22 4c
      61 74 69 6e 20 53 6d 61 6c 6c 20 4c 65 74 74 65 72 20 4f 20 57 69 74 68 20 44 69 61
      65 72 65 73 69 73 22 2c 22 e2 82 ac 22 3a 22 45 75 72 6f 20 53 69 67 6e 22 2c 22 f0
      9f 98 80 22 3a 22 45 6d 6f 6a 69 3a 20 47 72 69 6e 6e 69 6e 67 20 46 61 63 65 22 2c
      22 ef ac b3 22 3a 22 48 65 62 72 65 77 20 4c 65 74 74 65 72 20 44 61 6c 65 74 20 57
      69 74 68 20 44 61 67 65 73 68 22 7d`.replace(/\s+/g, '');
    expect(canonicalBytes(sortingInput).toString('hex')).toBe(expectedHex);
  });

  it('Appendix E: a parsed object keeps its string values as they are', () => {
    const input: unknown = JSON.parse(
      '{ "time": "2019-01-28T07:45:10Z", "big": "055", "val": 3.5 }',
    );
    expect(canonicalize(input)).toBe('{"big":"055","time":"2019-01-28T07:45:10Z","val":3.5}');
  });

  describe('Appendix B: IEEE 754 number serialization samples', () => {
    const samples: ReadonlyArray<readonly [string, string]> = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'], // minus zero
      ['0000000000000001', '5e-324'], // min pos number
      ['8000000000000001', '-5e-324'], // min neg number
      ['7fefffffffffffff', '1.7976931348623157e+308'], // max pos number
      ['ffefffffffffffff', '-1.7976931348623157e+308'], // max neg number
      ['4340000000000000', '9007199254740992'], // max pos int (1)
      ['c340000000000000', '-9007199254740992'], // max neg int (1)
      ['4430000000000000', '295147905179352830000'], // ~2**68 (2)
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['44b52d02c7e14af7', '1.0000000000000001e+23'],
      ['444b1ae4d6e2ef4e', '999999999999999700000'],
      ['444b1ae4d6e2ef4f', '999999999999999900000'],
      ['444b1ae4d6e2ef50', '1e+21'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['41b3de4355555553', '333333333.3333332'],
      ['41b3de4355555554', '333333333.33333325'],
      ['41b3de4355555555', '333333333.3333333'],
      ['41b3de4355555556', '333333333.3333334'],
      ['41b3de4355555557', '333333333.33333343'],
      ['becbf647612f3696', '-0.0000033333333333333333'],
      ['43143ff3c1cb0959', '1424953923781206.2'], // round to even (4)
    ];

    it.each(samples)('%s -> %s', (hex, expected) => {
      expect(canonicalize(double(hex))).toBe(expected);
      expect(canonicalize([double(hex)])).toBe(`[${expected}]`);
    });

    it.each(['7fffffffffffffff', '7ff0000000000000', 'fff0000000000000'])(
      '%s (NaN / Infinity, note 3) is rejected',
      (hex) => {
        let caught: unknown;
        try {
          canonicalize({ n: double(hex) });
        } catch (error) {
          caught = error;
        }
        expect(caught).toBeInstanceOf(CanonicalJsonError);
        expect(caught).toMatchObject({ code: 'non-finite-number', path: '$.n' });
      },
    );

    it('keeps 1e+21 distinct from 1e21-as-integer and writes -0 as 0', () => {
      expect(canonicalize(1e21)).toBe('1e+21');
      expect(canonicalize(1e20)).toBe('100000000000000000000');
      expect(canonicalize(-0)).toBe('0');
      expect(canonicalize({ a: -0 })).toBe('{"a":0}');
    });
  });
});

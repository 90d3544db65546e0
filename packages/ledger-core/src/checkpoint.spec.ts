import {
  formatCheckpoint,
  openCheckpoint,
  parseCheckpoint,
  CheckpointArgumentError,
} from './checkpoint';
import { signerFromSeed, signNote, verifierFromPublicKey } from './note';
import { leafHash, rootHash } from './rfc6962';
import { signedNoteVector as v } from './test-support/vectors';

const root8 = rootHash(v.rfc6962LeavesHex.map((h) => leafHash(Buffer.from(h, 'hex'))));
const origin = 'example.test/tokenledger/tokens.lifecycle-0';
const signer = signerFromSeed(v.keyName, Buffer.from(v.ed25519SeedHex, 'hex'));
const verifier = verifierFromPublicKey(v.keyName, signer.publicKey);

describe('checkpoints', () => {
  it('format the vector body from the computed root of the CT test tree', () => {
    expect(formatCheckpoint({ origin, size: 8, rootHash: root8 })).toBe(v.checkpointBody);
  });

  it('parse the vector body to the root computed from rfc6962LeavesHex', () => {
    const r = parseCheckpoint(v.checkpointBody);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.checkpoint).toMatchObject({ origin, size: 8, extensions: [] });
    expect(r.checkpoint.rootHash.equals(root8)).toBe(true);
    expect(r.checkpoint.rootHash.toString('hex')).toBe(v.rootOf8Hex);
  });

  it('round-trip extension lines', () => {
    const text = formatCheckpoint({
      origin,
      size: 0,
      rootHash: rootHash([]),
      extensions: ['ext one', 'two'],
    });
    expect(text.endsWith('\next one\ntwo\n')).toBe(true);
    const r = parseCheckpoint(text);
    expect(r.ok && r.checkpoint.extensions).toEqual(['ext one', 'two']);
  });

  it.each([
    ['no final newline', v.checkpointBody.slice(0, -1), 'malformed-checkpoint'],
    ['too few lines', `${origin}\n8\n`, 'malformed-checkpoint'],
    ['an empty origin', v.checkpointBody.replace(origin, ''), 'bad-origin'],
    ['a leading zero', v.checkpointBody.replace('\n8\n', '\n08\n'), 'bad-size'],
    ['a signed size', v.checkpointBody.replace('\n8\n', '\n+8\n'), 'bad-size'],
    [
      'a size above 2^53',
      v.checkpointBody.replace('\n8\n', '\n18446744073709551615\n'),
      'bad-size',
    ],
    ['a short root', v.checkpointBody.replace(/\n[^\n]+=\n$/, '\nAAAA\n'), 'bad-root-hash'],
    ['an unpadded root', v.checkpointBody.replace('=\n', '\n'), 'bad-root-hash'],
    ['an empty extension line', `${v.checkpointBody}\n`, 'malformed-checkpoint'],
  ])('reject a body with %s', (_what, text, expected) => {
    const r = parseCheckpoint(text);
    expect(r.ok ? 'ok' : r.error.code).toBe(expected);
  });

  it('refuse to format what cannot be parsed back', () => {
    expect(() => formatCheckpoint({ origin: '', size: 1, rootHash: root8 })).toThrow(
      CheckpointArgumentError,
    );
    expect(() => formatCheckpoint({ origin, size: -1, rootHash: root8 })).toThrow(
      CheckpointArgumentError,
    );
    expect(() => formatCheckpoint({ origin, size: 1, rootHash: root8.subarray(1) })).toThrow(
      CheckpointArgumentError,
    );
    expect(() => formatCheckpoint({ origin, size: 1, rootHash: root8, extensions: [''] })).toThrow(
      CheckpointArgumentError,
    );
  });
});

describe('signed checkpoints', () => {
  it('open the vector note and check the origin', () => {
    const r = openCheckpoint(v.signedNote, [verifier], origin);
    expect(r.ok && r.checkpoint.size).toBe(8);
    expect(r.ok && r.checkpoint.rootHash.equals(root8)).toBe(true);
    const wrong = openCheckpoint(v.signedNote, [verifier], `${origin}x`);
    expect(wrong.ok ? 'ok' : wrong.error.code).toBe('origin-mismatch');
  });

  it('pass through signature and body errors', () => {
    const tampered = v.signedNote.replace('\n8\n', '\n9\n');
    const r = openCheckpoint(tampered, [verifier]);
    expect(r.ok ? 'ok' : r.error.code).toBe('bad-signature');
    const unsignedBody = openCheckpoint(signNote('just text\n', signer), [verifier]);
    expect(unsignedBody.ok ? 'ok' : unsignedBody.error.code).toBe('malformed-checkpoint');
  });
});

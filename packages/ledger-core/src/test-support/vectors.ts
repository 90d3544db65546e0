import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Copy of ../shared/vectors/signed-note.json (repository root): a C2SP tlog-checkpoint signed by an
 * independent implementation (Go's golang.org/x/mod/sumdb/note), plus the 8 leaves of the
 * certificate-transparency reference test tree.
 */
export interface SignedNoteVector {
  readonly checkpointBody: string;
  readonly ed25519SeedHex: string;
  readonly keyHashHex: string;
  readonly keyName: string;
  readonly publicKeyHex: string;
  readonly rfc6962LeavesHex: readonly string[];
  readonly rootOf8Hex: string;
  readonly signedNote: string;
  readonly verifierKey: string;
}

export const signedNoteVector = JSON.parse(
  readFileSync(join(__dirname, 'signed-note.json'), 'utf8'),
) as SignedNoteVector;

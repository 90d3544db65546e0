// Reads a bundle file as a stream of lines into ledger-core's BundleVerifier: memory stays bounded
// (one chunk, one line and the verifier's O(log n) state) whatever the size of the bundle.
import * as fs from 'node:fs';
import {
  BundleVerifier,
  type BundleVerification,
  type VerifyBundleOptions,
} from '@tokenledger/ledger-core';

/** A line longer than this is refused (the ledger's leaves are far smaller). */
export const MAX_LINE_CHARS = 64 * 2 ** 20;
const CHUNK_BYTES = 2 ** 20;

/** Verifies the bundle in `file`, reading it once, front to back. I/O errors are thrown. */
export async function verifyBundleFile(
  file: string,
  options: VerifyBundleOptions,
): Promise<BundleVerification> {
  const verifier = new BundleVerifier(options);
  // utf8 decoding by the stream: a character split between two chunks is decoded whole.
  const input = fs.createReadStream(file, { encoding: 'utf8', highWaterMark: CHUNK_BYTES });
  let carry = '';
  let lineNo = 0;
  try {
    for await (const chunk of input as AsyncIterable<string>) {
      const text = carry === '' ? chunk : carry + chunk;
      let start = 0;
      for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
        lineNo += 1;
        if (verifier.push(text.slice(start, end))) return verifier.finish();
        start = end + 1;
      }
      carry = text.slice(start);
      if (carry.length > MAX_LINE_CHARS)
        return {
          ok: false,
          error: {
            code: 'malformed-line',
            line: lineNo + 1,
            message: `line ${lineNo + 1}: longer than ${MAX_LINE_CHARS} characters`,
          },
        };
    }
  } finally {
    input.destroy();
  }
  if (carry !== '') verifier.push(carry);
  return verifier.finish();
}

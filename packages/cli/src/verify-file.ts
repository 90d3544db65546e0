// Reads a bundle file as a stream of lines into ledger-core's BundleVerifier: memory stays bounded
// (one chunk, one line and the verifier's O(log n) state) whatever the size of the bundle.
import * as fs from 'node:fs';
import {
  BundleVerifier,
  type BundleVerification,
  type VerifyBundleOptions,
} from '@tokenledger/ledger-core';

/** A line longer than this is refused (the ledger's leaves are far smaller). */
export const MAX_LINE_BYTES = 64 * 2 ** 20;
const CHUNK_BYTES = 2 ** 20;
const NEWLINE = 0x0a;

/** Verifies the bundle in `file`, reading it once, front to back. I/O errors are thrown. */
export async function verifyBundleFile(
  file: string,
  options: VerifyBundleOptions,
): Promise<BundleVerification> {
  const verifier = new BundleVerifier(options);
  const input = fs.createReadStream(file, { highWaterMark: CHUNK_BYTES });
  let carry: Buffer | undefined;
  let lineNo = 0;
  // Lines are split on the byte 0x0a, which is never part of a multi-byte UTF-8 sequence, and each
  // line is decoded on its own.
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      let start = 0;
      let end = chunk.indexOf(NEWLINE);
      if (carry) {
        // Only the line that straddles two chunks is copied.
        if (end < 0) {
          carry = Buffer.concat([carry, chunk]);
        } else {
          lineNo += 1;
          const line = Buffer.concat([carry, chunk.subarray(0, end)]).toString('utf8');
          carry = undefined;
          if (verifier.push(line)) return verifier.finish();
          start = end + 1;
          end = chunk.indexOf(NEWLINE, start);
        }
      }
      if (!carry) {
        for (; end >= 0; end = chunk.indexOf(NEWLINE, start)) {
          lineNo += 1;
          if (verifier.push(chunk.toString('utf8', start, end))) return verifier.finish();
          start = end + 1;
        }
        if (start < chunk.length) carry = chunk.subarray(start);
      }
      if (carry && carry.length > MAX_LINE_BYTES)
        return {
          ok: false,
          error: {
            code: 'malformed-line',
            line: lineNo + 1,
            message: `line ${lineNo + 1}: longer than ${MAX_LINE_BYTES} bytes`,
          },
        };
    }
  } finally {
    input.destroy();
  }
  if (carry) verifier.push(carry.toString('utf8'));
  return verifier.finish();
}

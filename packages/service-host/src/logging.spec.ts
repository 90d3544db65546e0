import { Writable } from 'node:stream';
import pino from 'pino';
import { REDACT_PATHS } from './logging';

/** The lines a pino logger with the apps' redaction writes. */
function logged(write: (log: pino.Logger) => void): string {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  write(pino({ redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, sink));
  return lines.join('');
}

describe('REDACT_PATHS', () => {
  it('redact the internal secret header, credentials and token material of a request log', () => {
    const secret = 'internal-secret-0123456789abcdef0123456789';
    const token = 'tlk_live_plaintextplaintextplaintext0000000';
    const out = logged((log) =>
      log.info(
        {
          req: {
            url: '/internal/v1/credentials/resolve',
            headers: {
              'x-tokenledger-internal': secret,
              authorization: `Bearer ${token}`,
              dpop: 'proof',
              host: 'localhost',
            },
          },
          token,
        },
        'request completed',
      ),
    );
    expect(out).toContain('/internal/v1/credentials/resolve');
    expect(out).toContain('localhost');
    expect(out).not.toContain(secret);
    expect(out).not.toContain(token);
    expect(out.match(/\[redacted\]/g)).toHaveLength(4);
  });
});

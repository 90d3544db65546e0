/**
 * Paths that never reach a log line. Tokens travel in the Authorization header, in the DPoP
 * header, in form fields named `token` and in JSON bodies; pino-http logs headers, so they are
 * redacted here, and bodies are not logged at all.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers.dpop',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'token',
  '*.token',
  'plaintext',
  '*.plaintext',
  'tokenHash',
  '*.tokenHash',
  'pepper',
  '*.pepper',
  'privateKey',
  '*.privateKey',
];

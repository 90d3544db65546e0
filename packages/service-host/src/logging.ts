/**
 * Paths that never reach a log line. Tokens travel in the Authorization header, in the DPoP
 * header, in form fields named `token` and in JSON bodies; the apps' shared internal secret in
 * `x-tokenledger-internal` (@tokenledger/auth's INTERNAL_SECRET_HEADER, spelled out here because
 * pino wants literal paths). pino-http logs headers, so they are redacted here, and bodies are
 * not logged at all. Every logger of an app MUST use these paths (service-host's request logger
 * and its boot logger do).
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-tokenledger-internal"]',
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

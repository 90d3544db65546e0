export {
  DEFAULT_TOKEN_PREFIX,
  TOKEN_REGEX,
  TOKEN_PATTERN_SOURCE,
  generateToken,
  parseToken,
  isWellFormed,
  displayPrefix,
  crc32,
  toBase62,
  TokenFormatError,
  type GenerateTokenOptions,
  type ParsedToken,
} from './token-format';
export { tokenHash, TokenHasher, TokenHasherError } from './token-hash';
export {
  KNOWN_SCOPES,
  isValidScope,
  hasScope,
  missingScopes,
  normalizeScopes,
  InvalidScopeError,
  type KnownScope,
} from './scopes';
export {
  jwkThumbprint,
  accessTokenHash,
  normalizeHtu,
  verifyDpopProof,
  InMemoryReplayCache,
  type DpopResult,
  type DpopFailure,
  type DpopContext,
} from './dpop';

export { canonicalize, canonicalBytes } from './canonicalize';
export { CanonicalJsonError, type CanonicalJsonErrorCode } from './errors';

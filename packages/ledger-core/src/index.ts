export { HASH_SIZE, leafHash, nodeHash, emptyRoot, rootHash, rangeRoot } from './rfc6962';
export {
  inclusionProof,
  consistencyProof,
  verifyInclusion,
  verifyConsistency,
  ProofArgumentError,
  type LeafHashSource,
  type ProofErrorCode,
  type ProofVerification,
} from './proof';
export {
  CHAIN_SEED,
  chainNext,
  chainHashes,
  verifyChain,
  ChainVerifier,
  type ChainError,
  type ChainErrorCode,
  type ChainVerification,
} from './chain';
export { CompactRange } from './compact-range';
export {
  nodeKey,
  splitPoint,
  decompose,
  completedBy,
  completingLeaf,
  inclusionRanges,
  consistencyRanges,
  nodesFor,
  rangeHash,
  type NodeRef,
  type Range,
} from './tree-plan';
export { logIdOf, parseLogId, isLogId, type LogRef, type ParseLogIdResult } from './log-id';
export {
  leafBytes,
  parseLeaf,
  sha256Hex,
  type RecordPosition,
  type LeafEvent,
  type LeafContent,
  type LeafKind,
  type Leaf,
  type LeafErrorCode,
  type ParseLeafResult,
} from './leaf';
export {
  BUNDLE_VERSION,
  formatBundleLine,
  parseBundleLine,
  verifyBundle,
  type BundleHeader,
  type BundleKey,
  type BundleKeys,
  type BundleCheckpoint,
  type BundleEntry,
  type BundleLine,
  type BundleError,
  type BundleErrorCode,
  type BundleSummary,
  type BundleVerification,
  type ParseBundleLineResult,
  type VerifyBundleOptions,
} from './bundle';
export { LogVerifier, type StoredLeaf, type LogError, type LogErrorCode, type LogVerification } from './log-verifier';
export {
  SIGNATURE_PREFIX,
  MAX_SIGNATURES,
  keyHash,
  isValidKeyName,
  signerFromSeed,
  verifierFromPublicKey,
  verifierKey,
  parseVerifierKey,
  signNote,
  openNote,
  NoteArgumentError,
  type NoteSigner,
  type NoteVerifier,
  type NoteSignature,
  type OpenedNote,
  type NoteErrorCode,
  type OpenNoteResult,
  type VerifierKeyErrorCode,
  type ParseVerifierKeyResult,
} from './note';
export {
  formatCheckpoint,
  parseCheckpoint,
  openCheckpoint,
  CheckpointArgumentError,
  type Checkpoint,
  type CheckpointErrorCode,
  type ParseCheckpointResult,
  type OpenCheckpointResult,
} from './checkpoint';
export type { Verification, VerificationError } from './result';

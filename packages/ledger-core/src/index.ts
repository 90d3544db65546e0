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
  type ChainErrorCode,
  type ChainVerification,
} from './chain';
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

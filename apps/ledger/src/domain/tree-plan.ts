// The tree plan lives in @tokenledger/ledger-core. This re-export only keeps the two importers
// outside this change (repositories/ledger.repository.ts, migrations/subtrees.int-spec.ts)
// compiling; it goes when they import from ledger-core.
export { completedBy, completingLeaf, nodeKey, type NodeRef } from '@tokenledger/ledger-core';

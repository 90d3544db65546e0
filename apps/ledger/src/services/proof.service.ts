import { Injectable } from '@nestjs/common';
import {
  consistencyRanges,
  emptyRoot,
  inclusionRanges,
  nodeHash,
  nodeKey,
  nodesFor,
  rangeHash,
  type NodeRef,
  type Range,
} from '@tokenledger/ledger-core';
import { DomainError } from '@tokenledger/errors';
import { LedgerRepository, type LogHead } from '../repositories/ledger.repository';

export interface InclusionProof {
  logId: string;
  index: number;
  treeSize: number;
  leafHash: Buffer;
  rootHash: Buffer;
  hashes: Buffer[];
}

export interface ConsistencyProof {
  logId: string;
  from: number;
  to: number;
  fromRoot: Buffer;
  toRoot: Buffer;
  hashes: Buffer[];
}

/** Proofs and roots for any tree size up to the current one, from stored nodes in one read. */
@Injectable()
export class ProofService {
  constructor(private readonly repository: LedgerRepository) {}

  async requireHead(logId: string): Promise<LogHead> {
    const head = await this.repository.head(logId);
    if (!head) throw new DomainError('log_not_found', `no log ${logId}`);
    return head;
  }

  async inclusion(logId: string, index: number, treeSize?: number): Promise<InclusionProof> {
    const head = await this.requireHead(logId);
    const size = treeSize ?? head.size;
    if (size < 1 || size > head.size)
      throw new DomainError('bad_tree_size', `treeSize must be between 1 and ${head.size}`);
    if (index < 0 || index >= size)
      throw new DomainError('bad_index', `index must be between 0 and ${size - 1}`);
    const ranges = inclusionRanges(index, size);
    const hashes = await this.hashes(logId, [[index, index + 1], [0, size], ...ranges]);
    const [leafHash, rootHash, ...path] = hashes;
    return {
      logId,
      index,
      treeSize: size,
      leafHash: leafHash as Buffer,
      rootHash: rootHash as Buffer,
      hashes: path,
    };
  }

  async consistency(logId: string, from: number, to?: number): Promise<ConsistencyProof> {
    const head = await this.requireHead(logId);
    const end = to ?? head.size;
    if (end > head.size) throw new DomainError('bad_tree_size', `to must be at most ${head.size}`);
    if (from < 0 || from > end)
      throw new DomainError('bad_tree_size', `from must be between 0 and ${end}`);
    const ranges = consistencyRanges(from, end);
    const roots: Range[] = [from > 0 ? [0, from] : [0, 0], end > 0 ? [0, end] : [0, 0]];
    const hashes = await this.hashes(logId, [...roots.filter(([, e]) => e > 0), ...ranges]);
    const fromRoot = from > 0 ? (hashes.shift() as Buffer) : emptyRoot();
    const toRoot = end > 0 ? (hashes.shift() as Buffer) : emptyRoot();
    return { logId, from, to: end, fromRoot, toRoot, hashes };
  }

  async root(logId: string, size: number): Promise<Buffer> {
    if (size === 0) return emptyRoot();
    const [root] = await this.hashes(logId, [[0, size]]);
    return root as Buffer;
  }

  private async hashes(logId: string, ranges: Range[]): Promise<Buffer[]> {
    const needed: NodeRef[] = nodesFor(ranges);
    const stored = await this.repository.nodes(logId, needed);
    return ranges.map((range) =>
      rangeHash(
        range,
        (n) => {
          const hash = stored.get(nodeKey(n));
          if (!hash)
            throw new DomainError(
              'ledger_inconsistent',
              `log ${logId}: stored node ${nodeKey(n)} is missing`,
              false,
            );
          return hash;
        },
        nodeHash,
      ),
    );
  }
}

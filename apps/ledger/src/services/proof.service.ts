import { Injectable } from '@nestjs/common';
import {
  consistencyRanges,
  decompose,
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

  /**
   * Audit paths of several leaves in the same tree, from one read of the stored nodes: the proofs
   * of a page of a token's evidence. Same checks as inclusion().
   */
  async inclusionMany(logId: string, indexes: number[], treeSize: number): Promise<Buffer[][]> {
    const head = await this.requireHead(logId);
    if (treeSize < 1 || treeSize > head.size)
      throw new DomainError('bad_tree_size', `treeSize must be between 1 and ${head.size}`);
    for (const index of indexes)
      if (index < 0 || index >= treeSize)
        throw new DomainError('bad_index', `index must be between 0 and ${treeSize - 1}`);
    const paths = indexes.map((index) => inclusionRanges(index, treeSize));
    const hashes = await this.hashes(logId, paths.flat());
    let at = 0;
    return paths.map((ranges) => hashes.slice(at, (at += ranges.length)));
  }

  /**
   * The compact range of [start, end): the hashes of its perfect subtrees `decompose(start, end)`,
   * left to right (a range bundle's prefix [0, from) and suffix [to, treeSize)). end MUST be at
   * most the stored size.
   */
  async subtrees(logId: string, start: number, end: number): Promise<Buffer[]> {
    const refs = decompose(start, end);
    const stored = await this.repository.nodes(logId, refs);
    return refs.map((n) => this.stored(stored, logId, n));
  }

  async root(logId: string, size: number): Promise<Buffer> {
    if (size === 0) return emptyRoot();
    const [root] = await this.hashes(logId, [[0, size]]);
    return root as Buffer;
  }

  private async hashes(logId: string, ranges: Range[]): Promise<Buffer[]> {
    const needed: NodeRef[] = nodesFor(ranges);
    const stored = await this.repository.nodes(logId, needed);
    return ranges.map((range) => rangeHash(range, (n) => this.stored(stored, logId, n), nodeHash));
  }

  private stored(stored: Map<string, Buffer>, logId: string, n: NodeRef): Buffer {
    const hash = stored.get(nodeKey(n));
    if (!hash)
      throw new DomainError(
        'ledger_inconsistent',
        `log ${logId}: stored node ${nodeKey(n)} is missing`,
        false,
      );
    return hash;
  }
}

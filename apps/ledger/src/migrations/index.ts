import {
  CreateSchemaAndOutbox1795800000000,
  OutboxTraceContext1795800000900,
} from '@tokenledger/messaging';
import { Ledger1795800000300 } from './1795800000300-ledger';
import { Replays1795800000301 } from './1795800000301-replays';
import { Subtrees1795800000302 } from './1795800000302-subtrees';
import { EventIdsPerLog1795800000303 } from './1795800000303-event-ids-per-log';
import { AppendOnlyGrants1795800000304 } from './1795800000304-append-only-grants';
import { Cosignatures1795800000305 } from './1795800000305-cosignatures';
import { SigningKeyEvents1795800000306 } from './1795800000306-signing-key-events';
import { LogHeadGuard1795800000310 } from './1795800000310-log-head-guard';
import { EventIdsInLeaves1795800000311 } from './1795800000311-event-ids-in-leaves';

/** In order. Never edit a migration that has shipped: add a new one. */
export const migrations = [
  CreateSchemaAndOutbox1795800000000,
  Ledger1795800000300,
  Replays1795800000301,
  Subtrees1795800000302,
  EventIdsPerLog1795800000303,
  AppendOnlyGrants1795800000304,
  Cosignatures1795800000305,
  SigningKeyEvents1795800000306,
  LogHeadGuard1795800000310,
  EventIdsInLeaves1795800000311,
  OutboxTraceContext1795800000900,
];

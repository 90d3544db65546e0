import {
  CreateSchemaAndOutbox1795800000000,
  OutboxTraceContext1795800000900,
} from '@tokenledger/messaging';
import { Anomaly1795800000400 } from './1795800000400-anomaly';
import { Inventory1795800000401 } from './1795800000401-inventory';
import { Webhooks1795800000402 } from './1795800000402-webhooks';
import { PendingRevokes1795800000403 } from './1795800000403-pending-revokes';

/** In order. Never edit a migration that has shipped: add a new one. */
export const migrations = [
  CreateSchemaAndOutbox1795800000000,
  Anomaly1795800000400,
  Inventory1795800000401,
  Webhooks1795800000402,
  PendingRevokes1795800000403,
  OutboxTraceContext1795800000900,
];

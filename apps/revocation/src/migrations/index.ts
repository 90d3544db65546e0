import {
  CreateSchemaAndOutbox1795800000000,
  OutboxTraceContext1795800000900,
} from '@tokenledger/messaging';
import { TokenStatus1795800000200 } from './1795800000200-token-status';
import { DpopJtis1795800000201 } from './1795800000201-dpop-jtis';
import { TokenLimits1795800000210 } from './1795800000210-token-limits';

/** In order. Never edit a migration that has shipped: add a new one. */
export const migrations = [
  CreateSchemaAndOutbox1795800000000,
  TokenStatus1795800000200,
  DpopJtis1795800000201,
  TokenLimits1795800000210,
  OutboxTraceContext1795800000900,
];

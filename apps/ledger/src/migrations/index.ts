import { CreateSchemaAndOutbox1795800000000 } from '@tokenledger/messaging';
import { Ledger1795800000300 } from './1795800000300-ledger';

/** In order. Never edit a migration that has shipped: add a new one. */
export const migrations = [CreateSchemaAndOutbox1795800000000, Ledger1795800000300];

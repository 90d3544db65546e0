import { CreateSchemaAndOutbox1795800000000 } from '@tokenledger/messaging';
import { TokenStatus1795800000200 } from './1795800000200-token-status';

/** In order. Never edit a migration that has shipped: add a new one. */
export const migrations = [CreateSchemaAndOutbox1795800000000, TokenStatus1795800000200];

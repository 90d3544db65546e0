import { CreateSchemaAndOutbox1795800000000 } from '@tokenledger/messaging';

/** In order. Never edit a migration that has shipped: add a new one. */
export const migrations = [CreateSchemaAndOutbox1795800000000];

import { serviceConfigSchema, type ServiceConfig } from '@tokenledger/service-host';

export const ledgerConfigSchema = serviceConfigSchema(4004, 'ledger');
export type LedgerConfig = ServiceConfig;

import { serviceConfigSchema, type ServiceConfig } from '@tokenledger/service-host';

export const issuanceConfigSchema = serviceConfigSchema(4001, 'issuance');
export type IssuanceConfig = ServiceConfig;

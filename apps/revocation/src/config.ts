import { serviceConfigSchema, type ServiceConfig } from '@tokenledger/service-host';

export const revocationConfigSchema = serviceConfigSchema(4002, 'revocation');
export type RevocationConfig = ServiceConfig;

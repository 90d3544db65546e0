import { serviceConfigSchema, type ServiceConfig } from '@tokenledger/service-host';

export const anomalyConfigSchema = serviceConfigSchema(4003, 'anomaly');
export type AnomalyConfig = ServiceConfig;

import { serviceConfigSchema } from '@tokenledger/service-host';
import type { z } from 'zod';

export const anomalyConfigSchema = serviceConfigSchema(4003, 'anomaly');

export type AnomalyConfig = z.infer<typeof anomalyConfigSchema>;

import {
  CreateSchemaAndOutbox1795800000000,
  OutboxTraceContext1795800000900,
} from '@tokenledger/messaging';
import { Tokens1795800000100 } from './1795800000100-tokens';
import { PepperFingerprint1795800000500 } from './1795800000500-pepper-fingerprint';
import { ActiveRoot1795800000520 } from './1795800000520-active-root';
import { TokenLastUse1795800000600 } from './1795800000600-token-last-use';
import { TokenIssuedLimits1795800000700 } from './1795800000700-token-issued-limits';

/** In order. Never edit a migration that has shipped: add a new one. */
export const migrations = [
  CreateSchemaAndOutbox1795800000000,
  Tokens1795800000100,
  PepperFingerprint1795800000500,
  ActiveRoot1795800000520,
  TokenLastUse1795800000600,
  TokenIssuedLimits1795800000700,
  OutboxTraceContext1795800000900,
];

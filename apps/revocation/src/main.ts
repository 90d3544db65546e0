import 'reflect-metadata';
import { serviceMain } from '@tokenledger/service-host';
import { AppModule } from './app.module';
import { migrations } from './migrations';
import { grants } from './migrations/grants';
import { revocationConfigSchema, type RevocationConfig } from './config';

serviceMain<RevocationConfig>({
  name: 'revocation',
  description:
    'The token status authority: revocation (RFC 7009, bulk, leak reports) and introspection (RFC 7662).',
  configSchema: revocationConfigSchema,
  database: { migrations, grants },
  appModule: (config) => AppModule.forRoot(config),
  domainStatus: {
    token_not_found: 404,
    insufficient_scope: 403,
    issuance_busy: 503,
    issuance_unavailable: 503,
    usage_audit_unavailable: 503,
  },
  // RFC 7662 §2.3 and RFC 7009 §2.2.1: these answer errors as RFC 6749 §5.2 bodies.
  oauthPaths: ['/v1/introspect', '/v1/revoke'],
});

import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TokenAuthenticator } from './authenticator';
import { INTERNAL_SECRET, InternalSecretGuard } from './internal-secret';
import { OperatorAuthGuard } from './operator-auth.guard';
import { RemoteAuthenticator } from './remote-authenticator';

export interface AuthModuleOptions {
  internalSecret: string;
  /**
   * How operator tokens are checked: ask the revocation app at this URL, or `local` (the
   * revocation app itself), which then provides TokenAuthenticator and registers
   * `{ provide: APP_GUARD, useClass: OperatorAuthGuard }` in its own module.
   */
  authenticator: { revocationUrl: string } | 'local';
}

@Module({})
export class AuthModule {
  static forRoot(options: AuthModuleOptions): DynamicModule {
    const remote: Provider[] =
      options.authenticator === 'local'
        ? []
        : [
            {
              provide: TokenAuthenticator,
              useValue: new RemoteAuthenticator({
                revocationUrl: options.authenticator.revocationUrl,
                internalSecret: options.internalSecret,
              }),
            },
            { provide: APP_GUARD, useClass: OperatorAuthGuard },
          ];
    return {
      module: AuthModule,
      global: true,
      providers: [
        ...remote,
        { provide: INTERNAL_SECRET, useValue: options.internalSecret },
        InternalSecretGuard,
      ],
      exports: [
        INTERNAL_SECRET,
        InternalSecretGuard,
        ...(remote.length > 0 ? [TokenAuthenticator] : []),
      ],
    };
  }
}

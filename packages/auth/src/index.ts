export {
  TokenAuthenticator,
  operatorActor,
  operatorTokenIdOf,
  type AuthenticationResult,
  type Presentation,
  type Principal,
} from './authenticator';
export { AuthModule, type AuthModuleOptions } from './auth.module';
export {
  INTERNAL_SECRET,
  INTERNAL_SECRET_HEADER,
  InternalSecretGuard,
  secretsEqual,
} from './internal-secret';
export {
  CurrentPrincipal,
  OperatorAuthGuard,
  OwnerScoped,
  Public,
  RequireScopes,
} from './operator-auth.guard';
export { RemoteAuthenticator, type RemoteAuthenticatorOptions } from './remote-authenticator';
/** For @OwnerScoped routes in apps that do not otherwise use token-core. */
export { ownerReach, reaches, type OwnerReach } from '@tokenledger/token-core';

import {
  Catch,
  type INestApplication,
  type INestMicroservice,
  type RpcExceptionFilter,
} from '@nestjs/common';
import type { MicroserviceOptions, NestMicroservice } from '@nestjs/microservices';
import { throwError, type Observable } from 'rxjs';
import type { BatchTransport } from './batch-transport';

/**
 * The microservice exception filter of the batch transport: it hands the handler's own error back
 * unchanged. Nest's default RPC filter replaces every error that is not an RpcException with a
 * placeholder (`{ status: 'error', message: 'Internal server error' }`), which hides whether the
 * error was transient (`retryable`, a connection error) or a fault of the record; BatchConsumer
 * needs the original to choose between retrying the batch and dead-lettering the record after
 * bounded tries. Logging is the consumer's (each failed try is logged with the error).
 *
 * MUST be a global filter of the microservice that runs BatchTransport, installed before its
 * handlers are registered: `connectBatchTransport` below (service-host's createService), or
 * `useGlobalFilters` before `listen()` on a standalone microservice. Without it every handler
 * error reaches the transport as the placeholder and is treated as retryable.
 */
@Catch()
export class BatchHandlerErrorFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown): Observable<never> {
    return throwError(() => exception);
  }
}

/**
 * Connects BatchTransport to a hybrid (HTTP + consumers) app with BatchHandlerErrorFilter as the
 * consumers' global filter. Nest reads a microservice's global filters when it registers its
 * handlers, which `connectMicroservice` does at once: the registration is deferred until the
 * filter is in place, then done as `connectMicroservice` would have done it (the app's own init
 * hooks are not run a second time).
 */
export function connectBatchTransport(
  app: Pick<INestApplication, 'connectMicroservice'>,
  transport: BatchTransport,
): INestMicroservice {
  const microservice = app.connectMicroservice<MicroserviceOptions>(
    { strategy: transport },
    { deferInitialization: true },
  ) as NestMicroservice;
  microservice.useGlobalFilters(new BatchHandlerErrorFilter());
  microservice.registerListeners();
  microservice.setIsInitialized(true);
  microservice.setIsInitHookCalled(true);
  return microservice;
}

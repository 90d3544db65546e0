import type { Provider } from '@nestjs/common';
import { systemClock, uuidv7Ids, type Clock, type IdSource } from '@tokenledger/contracts';
import { UnitOfWork } from '@tokenledger/sql';
import { DataSource } from 'typeorm';

/** Injection token of the app's {@link Clock}: `@Inject(CLOCK) clock: Clock`. */
export const CLOCK = Symbol('CLOCK');
/** Injection token of the app's {@link IdSource}: `@Inject(ID_SOURCE) ids: IdSource`. */
export const ID_SOURCE = Symbol('ID_SOURCE');

/**
 * What ServiceHostModule provides to every app from outside the process: the time, new ids
 * (UUIDv7 stamped by that clock) and transactions on the app's DataSource.
 */
/**
 * The process's clock and id source: the providers below and the event outbox (given them in
 * its options) share these instances, so every id made in the process comes from one UUIDv7
 * sequence, increasing even within a millisecond.
 */
export const hostClock: Clock = systemClock;
export const hostIds: IdSource = uuidv7Ids(hostClock);

export const HOST_PROVIDERS: Provider[] = [
  { provide: CLOCK, useValue: hostClock },
  { provide: ID_SOURCE, useValue: hostIds },
  {
    provide: UnitOfWork,
    useFactory: (dataSource: DataSource) => new UnitOfWork(dataSource),
    inject: [DataSource],
  },
];

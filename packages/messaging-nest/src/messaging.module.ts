import { Module, type DynamicModule } from '@nestjs/common';
import { EventOutbox } from './event-outbox';
import {
  KafkaConnection,
  MESSAGING_DATA_SOURCE,
  MESSAGING_OPTIONS,
  type MessagingOptions,
} from './kafka-connection';

interface LevelLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

@Module({})
export class MessagingModule {
  /**
   * @param dataSourceToken provider token of the app's TypeORM DataSource (with `@nestjs/typeorm`,
   *   the `DataSource` class itself).
   * @param loggerToken provider token of a pino-style logger (`info/warn/error(obj, msg)`).
   */
  static forRootAsync(
    options: Omit<MessagingOptions, 'log'>,
    dataSourceToken: unknown,
    loggerToken: unknown,
  ): DynamicModule {
    return {
      module: MessagingModule,
      global: true,
      providers: [
        {
          provide: MESSAGING_OPTIONS,
          inject: [loggerToken as symbol],
          useFactory: (logger: LevelLogger): MessagingOptions => ({
            ...options,
            log: (level, message, extra) => logger[level](extra ?? {}, message),
          }),
        },
        { provide: MESSAGING_DATA_SOURCE, useExisting: dataSourceToken as symbol },
        KafkaConnection,
        EventOutbox,
      ],
      exports: [KafkaConnection, EventOutbox, MESSAGING_OPTIONS],
    };
  }
}

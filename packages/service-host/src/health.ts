import { Controller, Get, HttpCode, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { Public } from '@tokenledger/auth';
import { KafkaConnection } from '@tokenledger/messaging-nest';
import { DataSource } from 'typeorm';

type Check = 'up' | 'down';

async function probe(check: () => Promise<unknown>): Promise<[Check, string | undefined]> {
  try {
    await check();
    return ['up', undefined];
  } catch (error) {
    return ['down', error instanceof Error ? error.message : String(error)];
  }
}

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly kafka: KafkaConnection,
  ) {}

  /** The process is up and serving HTTP. */
  @Get('live')
  @HttpCode(200)
  @ApiOkResponse({ description: 'The process serves requests.' })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Ready only when PostgreSQL answers a query and the Kafka cluster answers a metadata request. */
  @Get('ready')
  @ApiOkResponse({ description: 'PostgreSQL and Kafka answer.' })
  @ApiServiceUnavailableResponse({
    description: 'A dependency does not answer; the body says which.',
  })
  async ready(): Promise<{ status: 'ok'; checks: Record<string, Check> }> {
    const [[postgres, pgError], [kafka, kafkaError]] = await Promise.all([
      probe(() => this.dataSource.query('SELECT 1')),
      probe(() => this.kafka.ping()),
    ]);
    const checks = { postgres, kafka };
    if (postgres === 'down' || kafka === 'down') {
      const reasons = [
        pgError && `postgres: ${pgError}`,
        kafkaError && `kafka: ${kafkaError}`,
      ].filter(Boolean);
      throw new ServiceUnavailableException(`not ready (${reasons.join('; ')})`);
    }
    return { status: 'ok', checks };
  }
}

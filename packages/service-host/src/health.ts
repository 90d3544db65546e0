import { Controller, Get, HttpCode, ServiceUnavailableException } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Public } from '@tokenledger/auth';
import { KafkaConnection } from '@tokenledger/messaging-nest';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { ReadinessChecks } from './readiness';
import { ApiRoute } from './route-docs';

const liveSchema = z.object({ status: z.literal('ok') });
const readySchema = z.object({
  status: z.enum(['ok', 'degraded']),
  checks: z.record(z.string(), z.enum(['up', 'down', 'ok', 'degraded', 'catching-up'])),
  reasons: z.array(z.string()).optional(),
});

type Check = 'up' | 'down' | 'ok' | 'degraded' | 'catching-up';

export interface ReadyBody {
  status: 'ok' | 'degraded';
  checks: Record<string, Check>;
  /** Present when degraded: one line per degraded check, `<check>: <reason>`. */
  reasons?: string[];
}

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
    private readonly extra: ReadinessChecks,
  ) {}

  /** The process is up and serving HTTP. */
  @Get('live')
  @HttpCode(200)
  @ApiRoute({
    summary: 'Liveness: the process serves HTTP.',
    public: true,
    response: { description: 'The process serves requests.', schema: liveSchema },
  })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /**
   * Ready only when PostgreSQL answers a query, the Kafka cluster answers a metadata request, and
   * every consumer group of the app has consumed its topics up to the end offsets they had when
   * the app started, so its projections hold everything written before it (503 otherwise;
   * docs/design/freshness.md). The app's own checks (ReadinessChecks) can only degrade it: still 200, with
   * `status: "degraded"` and the reasons.
   */
  @Get('ready')
  @ApiRoute({
    summary: 'Readiness: PostgreSQL, Kafka and the consumers caught up.',
    public: true,
    response: {
      description:
        'PostgreSQL and Kafka answer and the consumers caught up with Kafka as of the start; `status` is `degraded` (with `reasons`) when an app check is.',
      schema: readySchema,
    },
    errors: {
      503: 'A dependency does not answer, or the consumers are still catching up; the detail says which.',
    },
  })
  async ready(): Promise<ReadyBody> {
    const [[postgres, pgError], [kafka, kafkaError]] = await Promise.all([
      probe(() => this.dataSource.query('SELECT 1')),
      probe(() => this.kafka.ping()),
    ]);
    const checks: Record<string, Check> = { postgres, kafka };
    if (postgres === 'down' || kafka === 'down') {
      const reasons = [
        pgError && `postgres: ${pgError}`,
        kafkaError && `kafka: ${kafkaError}`,
      ].filter(Boolean);
      throw new ServiceUnavailableException(`not ready (${reasons.join('; ')})`);
    }
    const catchUp = this.kafka.catchUp();
    checks.consumers = catchUp.caughtUp ? 'up' : 'catching-up';
    if (!catchUp.caughtUp)
      throw new ServiceUnavailableException(`not ready (consumers: ${catchUp.reason ?? 'behind'})`);
    const reasons: string[] = [];
    for (const [name, report] of this.extra.run()) {
      checks[name] = report.status;
      if (report.status === 'degraded') reasons.push(`${name}: ${report.reason ?? 'degraded'}`);
    }
    return reasons.length > 0 ? { status: 'degraded', checks, reasons } : { status: 'ok', checks };
  }
}

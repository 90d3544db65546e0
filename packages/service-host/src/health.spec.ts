import { ServiceUnavailableException } from '@nestjs/common';
import type { KafkaConnection } from '@tokenledger/messaging-nest';
import type { DataSource } from 'typeorm';
import { HealthController } from './health';
import { ReadinessChecks } from './readiness';

function controller(catchUp: { caughtUp: boolean; reason?: string }): HealthController {
  const dataSource = { query: () => Promise.resolve([]) } as unknown as DataSource;
  const kafka = {
    ping: () => Promise.resolve(),
    catchUp: () => catchUp,
  } as unknown as KafkaConnection;
  return new HealthController(dataSource, kafka, new ReadinessChecks());
}

describe('HealthController readiness and the consumers', () => {
  it('is not ready (503) while a consumer group is catching up, and says so', async () => {
    const ready = controller({
      caughtUp: false,
      reason: 'catching up with Kafka: 2 partitions behind the end offsets they had at start',
    }).ready();
    await expect(ready).rejects.toBeInstanceOf(ServiceUnavailableException);
    await expect(ready).rejects.toThrow(/consumers: catching up with Kafka: 2 partitions behind/);
  });

  it('is ready once every consumer group caught up', async () => {
    await expect(controller({ caughtUp: true }).ready()).resolves.toEqual({
      status: 'ok',
      checks: { postgres: 'up', kafka: 'up', consumers: 'up' },
    });
  });
});

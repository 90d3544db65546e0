import { kafkaClientKindFromEnv, type KafkaClient, type KafkaClientKind } from './client';
import {
  createKafka,
  kafkaSaslFromEnv,
  kafkaTlsFromEnv,
  type KafkaClientConfig,
} from './kafka-client';
import { kafkajsClient } from './kafkajs-client';
import { platformaticClient } from './platformatic-client';

/**
 * The producing and consuming client of an app, over the library that `client` names (default:
 * `KAFKA_CLIENT` from the environment, see kafkaClientKindFromEnv; unset: kafkajs). The same
 * credentials (SASL/SCRAM, TLS) and broker list as {@link createKafka}, whichever the library.
 */
export function createKafkaClient(
  config: KafkaClientConfig & { client?: KafkaClientKind },
): KafkaClient {
  const kind = config.client ?? kafkaClientKindFromEnv();
  switch (kind) {
    case 'kafkajs':
      return kafkajsClient(createKafka(config));
    case 'platformatic': {
      const sasl = config.sasl === undefined ? kafkaSaslFromEnv() : (config.sasl ?? undefined);
      const tls = config.tls === undefined ? kafkaTlsFromEnv() : config.tls || undefined;
      return platformaticClient({
        brokers: config.brokers,
        clientId: config.clientId,
        sasl,
        tls,
      });
    }
  }
}

// `npm run kafka -- start|stop|status`: the project's local Kafka broker on its own, for
// development (npm start and npm test manage it by themselves).
import path from 'node:path';
import { infra, say } from './lib.mjs';

const { ensureLocalBroker, stopLocalBroker, brokerAnswers, stateDir, localBrokerSasl } = infra();
const dataDir = path.join(stateDir(), 'kafka');
const port = Number(process.env.TOKENLEDGER_KAFKA_PORT ?? 9092);

switch (process.argv[2]) {
  case 'start': {
    const broker = await ensureLocalBroker({ dataDir, port, log: say, sasl: localBrokerSasl() });
    say(
      broker.startedHere
        ? `started on ${broker.brokers}`
        : `already answering on ${broker.brokers}`,
    );
    break;
  }
  case 'stop':
    say((await stopLocalBroker(dataDir)) ? 'stopped' : 'not running');
    break;
  case 'status':
    say(
      (await brokerAnswers('127.0.0.1', port)) ? `answering on 127.0.0.1:${port}` : 'not answering',
    );
    break;
  default:
    say('usage: npm run kafka -- start|stop|status');
    process.exit(2);
}

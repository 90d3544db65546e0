import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { kafkaClientKindFromEnv } from './client';
import { kafkaSaslFromEnv, kafkaTlsFromEnv } from './kafka-client';

describe('Kafka client settings from the environment', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tl-kafka-env-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('TLS is off by default and with KAFKA_TLS=false; on with the system CAs with KAFKA_TLS=true', () => {
    expect(kafkaTlsFromEnv({})).toBeUndefined();
    expect(kafkaTlsFromEnv({ KAFKA_TLS: 'false' })).toBeUndefined();
    expect(kafkaTlsFromEnv({ KAFKA_TLS: 'TRUE' })).toEqual({});
  });

  it('KAFKA_TLS_CA_FILE turns TLS on and trusts the CAs of that file', () => {
    const ca = path.join(dir, 'ca.pem');
    fs.writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    expect(kafkaTlsFromEnv({ KAFKA_TLS_CA_FILE: ca })).toEqual({
      ca: [fs.readFileSync(ca, 'utf8')],
    });
  });

  it('refuses bad values, naming the variable and never quoting the value', () => {
    expect(() => kafkaTlsFromEnv({ KAFKA_TLS: 'yes-please' })).toThrow(
      /^KAFKA_TLS must be true or false$/,
    );
    expect(() => kafkaTlsFromEnv({ KAFKA_TLS_CA_FILE: path.join(dir, 'missing.pem') })).toThrow(
      /^KAFKA_TLS_CA_FILE cannot be read$/,
    );
    expect(() => kafkaTlsFromEnv({ KAFKA_TLS: 'false', KAFKA_TLS_CA_FILE: '/x' })).toThrow(
      /KAFKA_TLS is false/,
    );
  });

  it('SASL: a password from the variable or from a file; the password never in an error', () => {
    const file = path.join(dir, 'pw');
    fs.writeFileSync(file, 's3cret-from-file\n');
    expect(kafkaSaslFromEnv({})).toBeUndefined();
    expect(
      kafkaSaslFromEnv({ KAFKA_SASL_USERNAME: 'ledger', KAFKA_SASL_PASSWORD_FILE: file }),
    ).toEqual({
      mechanism: 'scram-sha-512',
      username: 'ledger',
      password: 's3cret-from-file',
    });
    let message = '';
    try {
      kafkaSaslFromEnv({
        KAFKA_SASL_USERNAME: 'ledger',
        KAFKA_SASL_PASSWORD: 'hunter2',
        KAFKA_SASL_MECHANISM: 'plain',
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^KAFKA_SASL_MECHANISM must be one of/);
    expect(message).not.toContain('hunter2');
  });

  it('KAFKA_CLIENT picks the client library: kafkajs unless it says platformatic; anything else is an error naming the variable', () => {
    expect(kafkaClientKindFromEnv({})).toBe('kafkajs');
    expect(kafkaClientKindFromEnv({ KAFKA_CLIENT: '' })).toBe('kafkajs');
    expect(kafkaClientKindFromEnv({ KAFKA_CLIENT: 'kafkajs' })).toBe('kafkajs');
    expect(kafkaClientKindFromEnv({ KAFKA_CLIENT: ' Platformatic ' })).toBe('platformatic');
    expect(() => kafkaClientKindFromEnv({ KAFKA_CLIENT: 'rdkafka' })).toThrow(
      'KAFKA_CLIENT must be one of kafkajs, platformatic',
    );
  });
});

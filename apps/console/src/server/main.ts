import path from 'node:path';
import { ConfigError, parseConfig } from './config';
import { createConsoleServer } from './server';

try {
  const config = parseConfig(process.env, path.join(__dirname, '..', 'web'));
  const server = createConsoleServer(config);
  server.listen(config.port, config.host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    process.stdout.write(
      `${JSON.stringify({ level: 30, time: Date.now(), msg: 'console listening', url: `http://${config.host}:${port}/`, logKeys: config.trust.logKeys.length, witnessKeys: config.trust.witnessKeys.length })}\n`,
    );
  });
  const stop = (): void => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} catch (e) {
  process.stderr.write(`${e instanceof ConfigError ? e.message : String(e)}\n`);
  process.exit(1);
}

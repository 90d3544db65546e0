import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { quoteIdent } from '@tokenledger/messaging';
import { Logger } from 'nestjs-pino';
import { Client } from 'pg';
import type { z } from 'zod';
import { loadConfig, type ServiceConfig } from './config';
import { HttpErrorFilter } from './errors';
import { assignRequestId } from './request-id';

export interface RunServiceOptions {
  name: string;
  description: string;
  version?: string;
  config: ServiceConfig;
  appModule: unknown;
  /** Domain error code -> HTTP status, for the error filter. */
  domainStatus?: Record<string, number>;
}

/** TypeORM keeps its migrations table in the app's schema, so the schema must exist before it starts. */
async function ensureSchema(url: string, schema: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
  } finally {
    await client.end();
  }
}

export async function createService(options: RunServiceOptions): Promise<NestExpressApplication> {
  const { config } = options;
  await ensureSchema(config.DATABASE_URL, config.DB_SCHEMA);
  const app = await NestFactory.create<NestExpressApplication>(options.appModule as never, {
    bufferLogs: true,
    bodyParser: false,
  });
  const logger = app.get(Logger);
  app.useLogger(logger);
  app.use(assignRequestId);
  app.useBodyParser('json', { limit: config.HTTP_BODY_LIMIT, strict: true });
  app.useBodyParser('urlencoded', { limit: config.HTTP_BODY_LIMIT, extended: false });
  app.useGlobalFilters(
    new HttpErrorFilter(options.domainStatus, (error, requestId) =>
      logger.error({ err: error, requestId }, 'unexpected error'),
    ),
  );
  app.disable('x-powered-by');
  app.enableShutdownHooks();

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle(`Tokenledger ${options.name}`)
      .setDescription(options.description)
      .setVersion(options.version ?? '0.1.0')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An operator token issued by Tokenledger' })
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'openapi.json', yamlDocumentUrl: 'openapi.yaml' });
  return app;
}

/** Boots an app, listens, and logs one line with its URL. Exits with a clear message on bad config. */
export async function runService(options: RunServiceOptions): Promise<INestApplication> {
  const app = await createService(options);
  const host = options.config.HOST;
  await app.listen(options.config.PORT, host);
  app.get(Logger).log(`${options.name} listening on http://${host}:${options.config.PORT} (docs at /docs)`);
  return app;
}

/** For `main().catch(exitOnBootError)`: a clear one-paragraph message, then exit code 1. */
export function exitOnBootError(error: unknown): never {
  const message = error instanceof Error ? (error.name === 'ConfigError' ? error.message : error.stack ?? error.message) : String(error);
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

/**
 * The whole `main.ts` of an app: parse the environment with `configSchema` (exit 1 naming every
 * bad variable), build the root module from the typed config, listen.
 */
export function serviceMain<C extends ServiceConfig>(options: {
  name: string;
  description: string;
  configSchema: z.ZodType<C>;
  appModule: (config: C) => unknown;
  domainStatus?: Record<string, number>;
}): void {
  const start = async (): Promise<void> => {
    const config = loadConfig(options.name, options.configSchema);
    await runService({ ...options, config, appModule: options.appModule(config) });
  };
  start().catch(exitOnBootError);
}

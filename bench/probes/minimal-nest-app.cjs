// A minimal Nest 11 + Express app for minimal-nest.mjs: one POST route behind a guard, urlencoded
// body parser, constant answer; with PINO=1 also nestjs-pino's request logger (level warn, redaction).
const path = require('node:path');
const fromApp = (m) =>
  require(require.resolve(m, { paths: [path.join(__dirname, '..', '..', 'apps', 'revocation')] }));
fromApp('reflect-metadata');
const { Controller, HttpCode, Module, Post, UseGuards } = fromApp('@nestjs/common');
const { NestFactory } = fromApp('@nestjs/core');
const { Logger, LoggerModule } = fromApp('nestjs-pino');

class BearerGuard {
  canActivate(context) {
    return (
      context.switchToHttp().getRequest().headers.authorization?.startsWith('Bearer ') === true
    );
  }
}
class ProbeController {
  answer() {
    return { active: false };
  }
}
Reflect.decorate(
  [Post('introspect'), HttpCode(200), UseGuards(BearerGuard)],
  ProbeController.prototype,
  'answer',
  Object.getOwnPropertyDescriptor(ProbeController.prototype, 'answer'),
);
Reflect.decorate([Controller('v1')], ProbeController);
class ProbeModule {}
const imports = process.env.PINO
  ? [
      LoggerModule.forRoot({
        pinoHttp: {
          level: 'warn',
          redact: { paths: ['req.headers.authorization'], censor: '[redacted]' },
        },
      }),
    ]
  : [];
Reflect.decorate([Module({ imports, controllers: [ProbeController] })], ProbeModule);

(async () => {
  const app = await NestFactory.create(ProbeModule, {
    logger: false,
    bodyParser: false,
    bufferLogs: true,
  });
  if (process.env.PINO) app.useLogger(app.get(Logger));
  app.useBodyParser('urlencoded', { extended: false });
  await app.listen(Number(process.env.PORT ?? 14998), '127.0.0.1');
})();

import 'reflect-metadata';
import {
  BadRequestException,
  Body,
  Controller,
  ForbiddenException,
  Get,
  HttpCode,
  Module,
  Post,
  UnauthorizedException,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DomainError } from '@tokenledger/errors';
import { installBodyParsers } from './body-parsers';
import { HttpErrorFilter } from './errors';
import { ErrorResponder, problemSchema, oauthErrorSchema } from './problem';
import { installRateLimit } from './rate-limit';

@Controller()
class ThrowingController {
  @Post('v1/things')
  @HttpCode(200)
  create(@Body() body: unknown): unknown {
    if (body === undefined) throw new BadRequestException('invalid request body: name: Required');
    return body;
  }
  @Get('v1/denied')
  denied(): never {
    throw new UnauthorizedException('an operator token is required');
  }
  @Get('v1/forbidden')
  forbidden(): never {
    throw new ForbiddenException('missing scope: ledger:read');
  }
  @Get('v1/missing')
  missing(): never {
    throw new DomainError('token_not_found', 'no token 0190');
  }
  @Get('v1/busy')
  busy(): never {
    throw new DomainError('overloaded', 'try later', true, { retryAfterSeconds: 2 });
  }
  @Get('v1/crash')
  crash(): never {
    throw new Error('secret detail tlk_live_abc');
  }
  @Post('v1/introspect')
  @HttpCode(200)
  introspect(@Body() body: unknown): unknown {
    if (!(body as { token?: string } | undefined)?.token)
      throw new BadRequestException('invalid form: token: Required');
    throw new UnauthorizedException('the operator token is not valid');
  }
}

@Module({ controllers: [ThrowingController] })
class TestModule {}

describe('HTTP errors: RFC 9457 problem details, RFC 6749 on OAuth routes', () => {
  let app: NestFastifyApplication;
  const unexpected: unknown[] = [];

  beforeAll(async () => {
    app = await NestFactory.create<NestFastifyApplication>(
      TestModule,
      new FastifyAdapter({ bodyLimit: 1024 }),
      { logger: false, bodyParser: false },
    );
    const fastify = app.getHttpAdapter().getInstance();
    installBodyParsers(fastify, 1024);
    const errors = new ErrorResponder(['/v1/introspect']);
    installRateLimit(fastify, {
      perIp: 0,
      perPrincipal: 3,
      windowMs: 60_000,
      maxKeys: 10,
      internalSecret: 'internal-secret-0123456789',
      internalHeader: 'x-internal',
      errors,
    });
    app.useGlobalFilters(
      new HttpErrorFilter({
        domainStatus: { token_not_found: 404 },
        oauthPaths: ['/v1/introspect'],
        onUnexpected: (error) => unexpected.push(error),
      }),
    );
    await app.init();
    await fastify.ready();
  });
  afterAll(() => app.close());

  type Injected = { statusCode: number; headers: Record<string, unknown>; body: string };
  const inject = (options: Record<string, unknown>): Promise<Injected> =>
    app
      .getHttpAdapter()
      .getInstance()
      .inject(options as never);

  async function problem(
    options: Record<string, unknown>,
  ): Promise<{ status: number; headers: Record<string, unknown>; body: Record<string, unknown> }> {
    const res = await inject({ method: 'GET', ...options });
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    const body = JSON.parse(res.body) as Record<string, unknown>;
    expect(problemSchema.strict().parse(body)).toEqual(body);
    expect(body.status).toBe(res.statusCode);
    return { status: res.statusCode, headers: res.headers, body };
  }

  it('400: a validation error names the field; instance is the path without the query', async () => {
    const { status, body } = await problem({
      method: 'POST',
      url: '/v1/things?x=secret',
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-1' },
      payload: '',
    });
    expect(status).toBe(400);
    expect(body).toEqual({
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      detail: 'invalid request body: name: Required',
      instance: '/v1/things',
      code: 'bad_request',
      requestId: 'req-1',
    });
  });

  it('400 for malformed JSON, 413 past the body limit, 415 for another media type', async () => {
    const malformed = await problem({
      method: 'POST',
      url: '/v1/things',
      headers: { 'content-type': 'application/json' },
      payload: '{"a":',
    });
    expect([malformed.status, malformed.body.code]).toEqual([400, 'bad_request']);
    expect(malformed.body.detail).toMatch(/JSON/);
    const huge = await problem({
      method: 'POST',
      url: '/v1/things',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ a: 'x'.repeat(2000) }),
    });
    expect(huge.body).toMatchObject({
      status: 413,
      code: 'payload_too_large',
      title: 'Payload Too Large',
    });
    const text = await problem({
      method: 'POST',
      url: '/v1/things',
      headers: { 'content-type': 'text/plain' },
      payload: 'hello',
    });
    expect(text.body).toMatchObject({ status: 415, code: 'unsupported_media_type' });
  });

  it('401, 403 and an unknown route (404)', async () => {
    expect((await problem({ url: '/v1/denied' })).body).toMatchObject({
      type: 'about:blank',
      title: 'Unauthorized',
      status: 401,
      code: 'unauthorized',
    });
    expect((await problem({ url: '/v1/forbidden' })).body).toMatchObject({
      status: 403,
      code: 'forbidden',
      detail: 'missing scope: ledger:read',
    });
    expect((await problem({ url: '/v1/nowhere' })).body).toMatchObject({
      status: 404,
      code: 'not_found',
      instance: '/v1/nowhere',
    });
  });

  it('a domain error has its own type and title; a retryable one says when to come back', async () => {
    expect((await problem({ url: '/v1/missing' })).body).toMatchObject({
      type: 'urn:tokenledger:problem:token_not_found',
      title: 'Token not found',
      status: 404,
      code: 'token_not_found',
      detail: 'no token 0190',
    });
    const busy = await problem({ url: '/v1/busy' });
    expect(busy.body).toMatchObject({ status: 503, code: 'overloaded' });
    expect(busy.headers['retry-after']).toBe('2');
  });

  it('500 reveals nothing of the error', async () => {
    const { body } = await problem({ url: '/v1/crash' });
    expect(body).toMatchObject({ status: 500, code: 'internal', detail: 'internal error' });
    expect(JSON.stringify(body)).not.toContain('tlk_live');
    expect(unexpected).toHaveLength(1);
  });

  it('OAuth routes answer RFC 6749 §5.2 bodies, never cached', async () => {
    const bad = await inject({
      method: 'POST',
      url: '/v1/introspect',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: '',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(bad.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(bad.body)).toEqual({
      error: 'invalid_request',
      error_description: 'invalid form: token: Required',
    });
    const unauthorized = await inject({
      method: 'POST',
      url: '/v1/introspect',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'token=x',
    });
    expect(unauthorized.statusCode).toBe(401);
    expect(oauthErrorSchema.strict().parse(JSON.parse(unauthorized.body))).toEqual({
      error: 'invalid_token',
      error_description: 'the operator token is not valid',
    });
    const text = await inject({
      method: 'POST',
      url: '/v1/introspect',
      headers: { 'content-type': 'text/plain' },
      payload: 'token=x',
    });
    expect([text.statusCode, (JSON.parse(text.body) as { error: string }).error]).toEqual([
      415,
      'invalid_request',
    ]);
  });

  it('429 from the rate limit: problem details on the API, temporarily_unavailable on OAuth', async () => {
    const headers = { authorization: 'Bearer flood' };
    for (let i = 0; i < 3; i++) await inject({ method: 'GET', url: '/v1/forbidden', headers });
    const limited = await problem({ url: '/v1/forbidden', headers });
    expect(limited.body).toMatchObject({
      type: 'about:blank',
      title: 'Too Many Requests',
      status: 429,
      code: 'too_many_requests',
      detail: expect.stringMatching(/per credential/),
    });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    const oauth = await inject({ method: 'POST', url: '/v1/introspect', headers });
    expect(oauth.statusCode).toBe(429);
    expect(JSON.parse(oauth.body)).toEqual({
      error: 'temporarily_unavailable',
      error_description: expect.stringMatching(/rate limit exceeded/),
    });
  });
});

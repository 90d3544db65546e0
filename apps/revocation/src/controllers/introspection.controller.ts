import { Body, Controller, Headers, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiExcludeEndpoint, ApiTags } from '@nestjs/swagger';
import {
  CurrentPrincipal,
  InternalSecretGuard,
  Public,
  RequireScopes,
  type AuthenticationResult,
  type Principal,
} from '@tokenledger/auth';
import { ApiRoute, parseInput } from '@tokenledger/service-host';
import type { FastifyRequest } from 'fastify';
import type { IntrospectionAnswer } from '@tokenledger/contracts';
import { IntrospectionService, type IntrospectionRequest } from '../services/introspection.service';
import { LocalAuthenticator } from '../services/local-authenticator';
import { authenticateSchema, introspectSchema, introspectionAnswerSchema } from './schemas';

@ApiTags('introspection')
@Controller()
export class IntrospectionController {
  constructor(
    private readonly introspection: IntrospectionService,
    private readonly authenticator: LocalAuthenticator,
  ) {}

  @Post('v1/introspect')
  @HttpCode(200)
  @ApiBearerAuth()
  @RequireScopes('tokens:introspect')
  @ApiRoute({
    summary:
      'RFC 7662 introspection; DPoP-bound tokens need the client proof (DPoP header) and htm/htu.',
    form: introspectSchema,
    response: {
      description: 'Active with its claims, or exactly {"active":false}.',
      schema: introspectionAnswerSchema,
    },
    errors: { 503: 'Issuance did not answer' },
    oauth: true,
  })
  introspect(
    @Body() body: unknown,
    @Headers('dpop') dpop: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<IntrospectionAnswer> {
    const form = parseInput(introspectSchema, body);
    // Assignments rather than conditional spreads: this runs for every introspection.
    const request: IntrospectionRequest = {
      token: form.token,
      actor: principal.actor,
      service: form.service ?? 'introspection',
      operation:
        form.operation ??
        (form.htm && form.htu ? `${form.htm} ${new URL(form.htu).pathname}` : 'introspect'),
      ip: form.ip ?? req.ip ?? '0.0.0.0',
      scopesRequested: form.scope ? form.scope.split(' ').filter(Boolean) : [],
    };
    if (dpop) request.dpop = dpop;
    if (form.htm) request.htm = form.htm;
    if (form.htu) request.htu = form.htu;
    const userAgent = req.headers['user-agent'];
    if (userAgent) request.userAgent = userAgent;
    return this.introspection.introspect(request);
  }

  /** Service-to-service: operator auth for the other apps. */
  @Post('internal/v1/authenticate')
  @HttpCode(200)
  @Public()
  @UseGuards(InternalSecretGuard)
  @ApiExcludeEndpoint()
  authenticate(@Body() body: unknown): Promise<AuthenticationResult> {
    const { token, scheme, proof, htm, htu } = parseInput(authenticateSchema, body);
    if (!scheme || !htm || !htu) return this.authenticator.authenticate(token);
    return this.authenticator.authenticate(token, {
      scheme,
      htm,
      htu,
      ...(proof ? { proof } : {}),
    });
  }
}

import { Body, Controller, Get, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequireScopes, type Principal } from '@tokenledger/auth';
import { openApiSchema, parseInput } from '@tokenledger/service-host';
import { policySchema, type Policy } from '../domain/policy';
import { IssuanceService } from '../services/issuance.service';

@ApiTags('policies')
@ApiBearerAuth()
@Controller('v1/policies')
export class PoliciesController {
  constructor(private readonly issuance: IssuanceService) {}

  @Get()
  @RequireScopes('tokens:read')
  get(): Promise<Policy> {
    return this.issuance.policy();
  }

  @Put()
  @RequireScopes('policies:write')
  @ApiBody({ schema: openApiSchema(policySchema) })
  put(@Body() body: unknown, @CurrentPrincipal() principal: Principal): Promise<Policy> {
    return this.issuance.setPolicy(parseInput(policySchema, body), principal);
  }
}

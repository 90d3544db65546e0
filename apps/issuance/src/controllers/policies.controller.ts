import { Body, Controller, Get, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequireScopes, type Principal } from '@tokenledger/auth';
import { ApiRoute, parseInput } from '@tokenledger/service-host';
import { policySchema, type Policy } from '../domain/policy';
import { IssuanceService } from '../services/issuance.service';

@ApiTags('policies')
@ApiBearerAuth()
@Controller('v1/policies')
export class PoliciesController {
  constructor(private readonly issuance: IssuanceService) {}

  @Get()
  @RequireScopes('tokens:read')
  @ApiRoute({
    summary: 'The issuance policy in force.',
    response: { description: 'The policy.', schema: policySchema },
  })
  get(): Promise<Policy> {
    return this.issuance.policy();
  }

  @Put()
  @RequireScopes('policies:write')
  @ApiRoute({
    summary: 'Replace the issuance policy (recorded on ops.audit).',
    body: policySchema,
    response: { description: 'The policy now in force.', schema: policySchema },
  })
  put(@Body() body: unknown, @CurrentPrincipal() principal: Principal): Promise<Policy> {
    return this.issuance.setPolicy(parseInput(policySchema, body), principal);
  }
}

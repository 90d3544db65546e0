import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequireScopes, type Principal } from '@tokenledger/auth';

/** Who the presented operator token is, as this app sees it (any valid operator token). */
@ApiTags('operator')
@ApiBearerAuth()
@Controller('v1/whoami')
export class WhoAmIController {
  @Get()
  @RequireScopes()
  whoami(@CurrentPrincipal() principal: Principal): {
    tokenId: string;
    scopes: string[];
    actor: string;
  } {
    return { tokenId: principal.tokenId, scopes: principal.scopes, actor: principal.actor };
  }
}

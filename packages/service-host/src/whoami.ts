import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequireScopes, type Principal } from '@tokenledger/auth';
import { z } from 'zod';
import { ApiRoute } from './route-docs';

const whoamiSchema = z.object({
  tokenId: z.string(),
  scopes: z.array(z.string()),
  actor: z.string(),
});

/** Who the presented operator token is, as this app sees it (any valid operator token). */
@ApiTags('operator')
@ApiBearerAuth()
@Controller('v1/whoami')
export class WhoAmIController {
  @Get()
  @RequireScopes()
  @ApiRoute({
    summary: 'The presented operator token: its tokenId, scopes and actor (any valid token).',
    response: { description: 'The caller.', schema: whoamiSchema },
  })
  whoami(@CurrentPrincipal() principal: Principal): {
    tokenId: string;
    scopes: string[];
    actor: string;
  } {
    return { tokenId: principal.tokenId, scopes: principal.scopes, actor: principal.actor };
  }
}

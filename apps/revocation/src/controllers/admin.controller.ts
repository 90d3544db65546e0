import { Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequireScopes, type Principal } from '@tokenledger/auth';
import { ApiRoute } from '@tokenledger/service-host';
import { RebuildService } from '../services/rebuild.service';
import { rebuildResultSchema } from './schemas';

@ApiTags('admin')
@ApiBearerAuth()
@Controller('v1/admin')
export class AdminController {
  constructor(private readonly rebuilder: RebuildService) {}

  @Post('rebuild')
  @HttpCode(200)
  @RequireScopes('admin')
  @ApiRoute({
    summary:
      'Drop the token status projection and rebuild it from tokens.lifecycle (recorded in ops.audit).',
    response: { description: 'What was replayed.', schema: rebuildResultSchema },
  })
  rebuild(
    @CurrentPrincipal() principal: Principal,
  ): Promise<{ replayId: string; events: number; tokens: number }> {
    return this.rebuilder.rebuild(principal);
  }
}

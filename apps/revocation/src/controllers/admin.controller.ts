import { Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequireScopes, type Principal } from '@tokenledger/auth';
import { RebuildService } from '../services/rebuild.service';

@ApiTags('admin')
@ApiBearerAuth()
@Controller('v1/admin')
export class AdminController {
  constructor(private readonly rebuilder: RebuildService) {}

  @Post('rebuild')
  @HttpCode(200)
  @RequireScopes('admin')
  @ApiOperation({
    summary:
      'Drop the token status projection and rebuild it from tokens.lifecycle (recorded in ops.audit).',
  })
  rebuild(
    @CurrentPrincipal() principal: Principal,
  ): Promise<{ replayId: string; events: number; tokens: number }> {
    return this.rebuilder.rebuild(principal);
  }
}

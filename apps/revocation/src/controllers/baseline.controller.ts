import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { RequireScopes } from '@tokenledger/auth';
import { parseInput } from '@tokenledger/service-host';
import { introspectSchema } from './schemas';

/**
 * Benchmark baseline (BENCH_BASELINE_ROUTE=true only): the same route shape as /v1/introspect
 * (operator auth, form parsing, validation) answering a constant, so that a benchmark shows what
 * introspection itself costs.
 */
@ApiExcludeController()
@Controller('v1/bench')
export class BaselineController {
  @Post('baseline')
  @HttpCode(200)
  @RequireScopes('tokens:introspect')
  baseline(@Body() body: unknown): { active: false } {
    parseInput(introspectSchema, body);
    return { active: false };
  }
}

import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ScopeByMethod } from '../access/access.decorators';
import { ApiDatabaseUnavailable } from '../common/api-error-responses';
import { PolicyMapDto } from './dto/policy.dto';
import { PoliciesService } from './policies.service';

@ApiTags('policies')
@ScopeByMethod()
@Controller('api/policies')
export class PoliciesController {
  constructor(private readonly policies: PoliciesService) {}

  @Get()
  @ApiOperation({
    summary:
      'The policy map: each policy with its strategy, budgets, flag, variants (models, prices, weights), canary and last hour',
    description:
      "Which flag drives which traffic. A variant's lastHour share is of the policy's requests in the hour up to now; costs are at catalog prices.",
  })
  @ApiOkResponse({ type: PolicyMapDto })
  @ApiDatabaseUnavailable()
  map(): Promise<PolicyMapDto> {
    return this.policies.map();
  }
}

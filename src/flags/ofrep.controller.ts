import type { ServerResponse } from 'node:http';
import { Body, Controller, Headers, HttpCode, Param, Post, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { RequireScope } from '../access/access.decorators';
import { excerpt } from '../common/excerpt';
import { FlagsService } from './flags.service';
import { contextOf, etagOf, successOf, type OfrepFailure, type OfrepSuccess } from './ofrep';

/**
 * OFREP (OpenFeature Remote Evaluation Protocol) over the flags in memory, with the gateway's keys:
 * `POST /ofrep/v1/evaluate/flags/:key` (server providers) and `POST /ofrep/v1/evaluate/flags` (bulk,
 * with an ETag; web providers). Its request and answer shapes are OFREP's own, documented by the
 * protocol's OpenAPI spec rather than in Switchyard's Swagger.
 */
@ApiExcludeController()
@RequireScope('gateway')
@Controller('ofrep/v1/evaluate/flags')
export class OfrepController {
  constructor(private readonly flags: FlagsService) {}

  @Post(':key')
  @HttpCode(200)
  evaluate(
    @Param('key') key: string,
    @Body() body: unknown,
    @Res({ passthrough: true }) res: ServerResponse,
  ): OfrepSuccess | OfrepFailure {
    const context = contextOf(body);
    if ('errorCode' in context) {
      res.statusCode = 400;
      return { key, ...context };
    }
    const result = this.flags.evaluateCached(key, context);
    if (!result) {
      res.statusCode = 404;
      return { key, errorCode: 'FLAG_NOT_FOUND', errorDetails: `flag "${excerpt(key)}" does not exist or is archived` };
    }
    return successOf(key, result.version, result);
  }

  @Post()
  @HttpCode(200)
  bulk(
    @Body() body: unknown,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res({ passthrough: true }) res: ServerResponse,
  ): { flags: OfrepSuccess[] } | OfrepFailure | undefined {
    const context = contextOf(body);
    if ('errorCode' in context) {
      res.statusCode = 400;
      return context;
    }
    const flags: OfrepSuccess[] = [];
    for (const key of this.flags.servedKeys()) {
      const result = this.flags.evaluateCached(key, context);
      if (result) flags.push(successOf(key, result.version, result));
    }
    const answer = { flags };
    const etag = etagOf(answer);
    res.setHeader('etag', etag);
    if (ifNoneMatch !== undefined && ifNoneMatch.split(',').some((tag) => tag.trim() === etag)) {
      res.statusCode = 304;
      return undefined;
    }
    return answer;
  }
}

import type { NextFunction, Request, Response } from 'express';
import { pathDeeperThan } from './json-depth';
import { JsonTooDeep } from './request-errors';

/**
 * Express middleware right after the JSON body parser: a body nested deeper than MAX_JSON_DEPTH is
 * refused (400 naming the limit and where) before the ValidationPipe, whose class-transformer and
 * class-validator recurse once per level and overflow the stack on a few thousand levels.
 */
export function refuseDeepJson(req: Request, _res: Response, next: NextFunction): void {
  const body: unknown = req.body;
  const path = typeof body === 'object' && body !== null ? pathDeeperThan(body) : undefined;
  next(path === undefined ? undefined : new JsonTooDeep(path));
}

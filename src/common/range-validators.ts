import { applyDecorators } from '@nestjs/common';
import { IsInt, Max, Min } from 'class-validator';

/**
 * An integer in [min, max] with one message for every way a value can miss (not an integer, too small,
 * too large): the 400 states the whole rule, whichever check failed. `$property` is class-validator's
 * token for the field's own name; the operator ValidationPipe widens it to the field's path
 * (`shadow.maxConcurrency`). Query fields still need `@Type(() => Number)` before it.
 */
export function IsIntegerBetween(min: number, max: number): PropertyDecorator {
  const message = `$property must be an integer between ${min} and ${max}`;
  return applyDecorators(IsInt({ message }), Min(min, { message }), Max(max, { message }));
}

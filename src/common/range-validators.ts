import { applyDecorators } from '@nestjs/common';
import { IsInt, Max, Min, ValidateBy } from 'class-validator';

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

/**
 * A finite number with at most `places` decimals: `IsNumber({ maxDecimalPlaces })` without its 500 on a
 * number JavaScript prints in exponent form without a dot (1e-7, 1e-320, 1e21), which it cannot split.
 */
export function IsNumberWithDecimals(places: number, message: string): PropertyDecorator {
  const scale = 10 ** places;
  return ValidateBy(
    {
      // isNumber's name, so the operator ValidationPipe ranks it as it did IsNumber: before Min and Max.
      name: 'isNumber',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'number' &&
          Number.isFinite(value) &&
          (Number.isInteger(value) || Math.round(value * scale) / scale === value),
      },
    },
    { message },
  );
}

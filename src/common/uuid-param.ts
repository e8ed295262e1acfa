import { Param, ParseUUIDPipe } from '@nestjs/common';
import { InvalidInput } from './request-errors';

/** A path parameter that must be a UUID; anything else is a 400 naming the parameter and what it is. */
export const UuidParam = (name: string, what: string) =>
  Param(
    name,
    new ParseUUIDPipe({ exceptionFactory: () => new InvalidInput([`${name} must be ${what} (a UUID)`], name) }),
  );

import { Param, ParseUUIDPipe } from '@nestjs/common';
import { InvalidInput } from './request-errors';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `text` is written as a UUID (any version): what a service checks before asking Postgres's uuid columns. */
export function isUuid(text: string): boolean {
  return UUID.test(text);
}

/** A path parameter that must be a UUID; anything else is a 400 naming the parameter and what it is. */
export const UuidParam = (name: string, what: string) =>
  Param(
    name,
    new ParseUUIDPipe({ exceptionFactory: () => new InvalidInput([`${name} must be ${what} (a UUID)`], name) }),
  );

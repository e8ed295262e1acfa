import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, Matches, MaxLength } from 'class-validator';
import { Optional } from './validation';

const NOT_BLANK = /\S/;

/** The one wording for a blank reason, as a body field or as a header (`x-change-reason`). */
export function blankReason(name: string): string {
  return `${name} must not be blank; leave it out for none`;
}

export function isBlank(text: string): boolean {
  return !NOT_BLANK.test(text);
}

/**
 * The optional free-text `reason` a change records (history rows, canary events). Left out, none is
 * recorded; a blank one would be stored as an empty reason that reads like a forgotten one.
 */
export function OptionalReason(maxLength: number, doc: { example: string; description?: string }): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({ ...doc, minLength: 1, maxLength, pattern: NOT_BLANK.source }),
    Optional(),
    IsString({ message: 'reason must be a string' }),
    // After MaxLength: of two problems of equal rank the pipe reports the one applied last, and a
    // long blank reason is above all blank.
    MaxLength(maxLength, { message: `reason must be at most ${maxLength} characters` }),
    Matches(NOT_BLANK, { message: blankReason('reason') }),
  );
}

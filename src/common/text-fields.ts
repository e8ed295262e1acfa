import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, MaxLength, ValidateBy } from 'class-validator';
import { Optional } from './validation';

/*
 * Free text an operator writes for people (a change's reason, a flag's or an outcome metric's
 * description): every such field goes through ContainsText, so spaces, tabs or newlines alone are
 * refused with a 400 rather than stored and shown as if something had been written. What is sent is
 * stored as sent: nothing is trimmed.
 */

const NOT_BLANK = /\S/;

/** The one wording for a blank reason, as a body field or as a header (`x-change-reason`). */
export function blankReason(name: string): string {
  return `${name} must not be blank; leave it out for none`;
}

/** A description's "none" is "" (its default, and how a change clears one): only whitespace is blank. */
const BLANK_DESCRIPTION = 'description must contain text, not only whitespace; send "" for none';

export function isBlank(text: string): boolean {
  return !NOT_BLANK.test(text);
}

/**
 * A string with at least one character that is not whitespace (`orEmpty`: or exactly "", for a field
 * where "" is the stored "none"). A value that is no string passes here and is left to IsString, whose
 * message says what the field must be.
 */
export function ContainsText(message: string, options: { orEmpty?: boolean } = {}): PropertyDecorator {
  return ValidateBy(
    {
      name: 'containsText',
      validator: {
        validate: (value: unknown) =>
          typeof value !== 'string' || !isBlank(value) || (options.orEmpty === true && value === ''),
      },
    },
    { message },
  );
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
    ContainsText(blankReason('reason')),
  );
}

/**
 * An optional `description`: "" is none (what a create leaves out defaults to, and how a change
 * clears one); whitespace alone would be stored and listed as a description that says nothing.
 */
export function OptionalDescription(
  maxLength: number,
  doc: { example: string; default?: string; description?: string },
): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({ ...doc, maxLength, pattern: `^$|${NOT_BLANK.source}` }),
    Optional(),
    IsString({ message: 'description must be a string' }),
    // After MaxLength, as for a reason: a long blank description is above all blank.
    MaxLength(maxLength, { message: `description must be at most ${maxLength} characters` }),
    ContainsText(BLANK_DESCRIPTION, { orEmpty: true }),
  );
}

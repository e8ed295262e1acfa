import { applyDecorators } from '@nestjs/common';
import { plainToInstance, Type, type ClassConstructor } from 'class-transformer';
import { IsInt, IsNumber, Matches, Max, Min, validateSync, type ValidationError } from 'class-validator';
import { StartupError } from './startup-error';

/**
 * Thrown at start-up when configuration is wrong. Its message lists every bad entry by name, so the
 * operator can fix them all in one go instead of one restart per mistake.
 */
export class ConfigurationError extends StartupError {
  constructor(
    readonly source: string,
    readonly problems: string[],
    message = problemBlock(source, problems),
  ) {
    super(message);
    this.name = 'ConfigurationError';
  }

  /** The problems of several errors as one, a block per source (`environment`, a catalog file), in order. */
  static all(errors: ConfigurationError[]): ConfigurationError {
    const bySource = new Map<string, string[]>();
    for (const { source, problems } of errors) bySource.set(source, [...(bySource.get(source) ?? []), ...problems]);
    const blocks = [...bySource].map(([source, problems]) => problemBlock(source, problems));
    return new ConfigurationError([...bySource.keys()].join(', '), [...bySource.values()].flat(), blocks.join('\n'));
  }
}

function problemBlock(source: string, problems: string[]): string {
  return `Invalid configuration in ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`;
}

/** Flattens nested class-validator errors into `path: message` lines (`models[2].pricing.inputPer1M: ...`). */
export function describeValidationErrors(errors: ValidationError[], parentPath = ''): string[] {
  return errors.flatMap((error) => {
    const path = joinPath(parentPath, error.property);
    const own = Object.values(error.constraints ?? {}).map((message) => `${path}: ${message}`);
    return [...own, ...describeValidationErrors(error.children ?? [], path)];
  });
}

function joinPath(parent: string, property: string): string {
  if (/^\d+$/.test(property)) return `${parent}[${property}]`;
  return parent ? `${parent}.${property}` : property;
}

/**
 * Converts raw values (strings from the environment, or parsed JSON) into an instance of `schema`
 * and validates it; throws a ConfigurationError naming each invalid field.
 */
export function validateConfig<T extends object>(
  schema: ClassConstructor<T>,
  raw: Record<string, unknown>,
  source: string,
): T {
  const { instance, problems } = checkConfig(schema, raw);
  if (problems.length > 0) throw new ConfigurationError(source, problems);
  return instance;
}

/**
 * validateConfig without the throw: the instance as converted, whatever its fields hold, and the
 * problems (none when it is valid), for checks that can still read an invalid instance.
 */
export function checkConfig<T extends object>(
  schema: ClassConstructor<T>,
  raw: Record<string, unknown>,
): { instance: T; problems: string[] } {
  const instance = plainToInstance(schema, raw, { exposeDefaultValues: true });
  const errors = validateSync(instance, { whitelist: true, forbidUnknownValues: true });
  return { instance, problems: [...new Set(describeValidationErrors(errors))] };
}

/**
 * The problems of checks run one after another, each named by its path (`policies[1].strategy: …`),
 * without those whose path, or a path it lies under, an earlier check already named: a field of the
 * wrong type is said to be so once, not again by every later check that cannot make sense of it.
 */
export function withoutRepeatedPaths(stages: string[][]): string[] {
  const named: string[] = [];
  const kept: string[] = [];
  for (const stage of stages) {
    const paths = stage.map(pathOf);
    kept.push(
      ...stage.filter((_, i) =>
        named.every(
          (path) => paths[i] !== path && !paths[i].startsWith(`${path}.`) && !paths[i].startsWith(`${path}[`),
        ),
      ),
    );
    named.push(...paths);
  }
  return kept;
}

function pathOf(problem: string): string {
  const end = problem.indexOf(': ');
  return end === -1 ? problem : problem.slice(0, end);
}

/** Drops empty strings, so `FOO=` in a .env file means "use the default", not "set to nothing". */
export function readEnv(names: readonly string[]): Record<string, string> {
  const values: Record<string, string> = {};
  for (const name of names) {
    const value = process.env[name];
    if (value !== undefined && value !== '') values[name] = value;
  }
  return values;
}

/** An environment variable holding an integer in [min, max], with one message naming it and the range. */
export function IntegerBetween(name: string, min: number, max: number): PropertyDecorator {
  const message = `${name} must be an integer between ${min} and ${max}`;
  return applyDecorators(
    Type(() => Number),
    IsInt({ message }),
    Min(min, { message }),
    Max(max, { message }),
  );
}

/** An environment variable holding a fraction in [0, 1]. */
export function Fraction(name: string): PropertyDecorator {
  const message = `${name} must be a number between 0 and 1`;
  return applyDecorators(
    Type(() => Number),
    IsNumber({}, { message }),
    Min(0, { message }),
    Max(1, { message }),
  );
}

/** An environment variable holding a size such as 512kb or 4mb (body-parser's units). */
export function Size(name: string, example: string): PropertyDecorator {
  return Matches(/^\d+(b|kb|mb)$/i, { message: `${name} must be a size such as ${example}` });
}

const UNIT_BYTES: Record<string, number> = { b: 1, kb: 1024, mb: 1024 * 1024 };

/** "512kb" -> 524288, with the units body-parser uses, so both request paths enforce the same limit. */
export function sizeInBytes(size: string): number {
  const [, amount, unit] = /^(\d+)(b|kb|mb)$/i.exec(size) ?? [];
  return Number(amount) * UNIT_BYTES[unit.toLowerCase()];
}

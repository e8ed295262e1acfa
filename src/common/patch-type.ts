import type { Type } from '@nestjs/common';
import { DECORATORS, PartialType } from '@nestjs/swagger';

/**
 * A PATCH body made from a create body: PartialType (every field may be left out; null is still
 * validated, as `Optional()` has it), without the create body's OpenAPI `default`s. A default there
 * says what leaving a field out gives a new resource; on a PATCH leaving it out keeps what is stored,
 * so an inherited `enabled: default true` or `rules: default []` tells a client the opposite.
 * PartialType copies each field's schema whole, and @ApiProperty on a subclass can only add to it
 * (undefined options are dropped), so the copies are rewritten here.
 */
export function PatchType<T>(classRef: Type<T>): Type<Partial<T>> {
  const Patch = PartialType(classRef, { skipNullProperties: false });
  const keys: unknown[] = Reflect.getMetadata(DECORATORS.API_MODEL_PROPERTIES_ARRAY, Patch.prototype) ?? [];
  for (const key of keys) {
    if (typeof key !== 'string' || !key.startsWith(':')) continue;
    const field = key.slice(1);
    const schema = Reflect.getMetadata(DECORATORS.API_MODEL_PROPERTIES, Patch.prototype, field) as
      Record<string, unknown> | undefined;
    if (!schema || !('default' in schema)) continue;
    const { default: _kept, ...withoutDefault } = schema;
    Reflect.defineMetadata(DECORATORS.API_MODEL_PROPERTIES, withoutDefault, Patch.prototype, field);
  }
  return Patch;
}

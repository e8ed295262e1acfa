/*
 * A bounded check of a JSON value against the subset of JSON Schema that OpenAI's structured
 * outputs use: type (one or a list), properties, required, additionalProperties (false or a
 * schema), items, enum, const, anyOf, minItems/maxItems. Keywords outside the subset ($ref, formats,
 * patterns, ...) are not checked: a violation is only reported when it is certain. The walk is
 * bounded (depth and nodes), so a huge answer cannot hold the event loop; past the bound the value
 * is taken as fitting.
 */

const MAX_DEPTH = 64;
const MAX_NODES = 20_000;

interface Budget {
  nodes: number;
}

/** True when `value` certainly breaks `schema`; false when it fits or the check cannot tell. */
export function violatesSchema(value: unknown, schema: unknown): boolean {
  return breaks(value, schema, 0, { nodes: 0 });
}

function breaks(value: unknown, schema: unknown, depth: number, budget: Budget): boolean {
  if (!isObject(schema) || depth > MAX_DEPTH || ++budget.nodes > MAX_NODES) return false;
  if (schema.type !== undefined && !typeFits(value, schema.type)) return true;
  if (Array.isArray(schema.enum) && !schema.enum.some((option) => sameJson(option, value))) return true;
  if ('const' in schema && !sameJson(schema.const, value)) return true;
  if (Array.isArray(schema.anyOf) && schema.anyOf.length > 0) {
    if (schema.anyOf.every((option) => breaks(value, option, depth + 1, budget))) return true;
  }
  if (isObject(value)) {
    const properties = isObject(schema.properties) ? schema.properties : {};
    if (Array.isArray(schema.required) && schema.required.some((key) => typeof key === 'string' && !(key in value)))
      return true;
    for (const [key, item] of Object.entries(value)) {
      if (Object.hasOwn(properties, key)) {
        if (breaks(item, properties[key], depth + 1, budget)) return true;
      } else if (schema.additionalProperties === false) {
        return true;
      } else if (isObject(schema.additionalProperties)) {
        if (breaks(item, schema.additionalProperties, depth + 1, budget)) return true;
      }
    }
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) return true;
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) return true;
    if (isObject(schema.items)) {
      for (const item of value) if (breaks(item, schema.items, depth + 1, budget)) return true;
    }
  }
  return false;
}

function typeFits(value: unknown, type: unknown): boolean {
  if (Array.isArray(type)) return type.some((one) => typeFits(value, one));
  switch (type) {
    case 'object':
      return isObject(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number';
    case 'integer':
      return Number.isInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'null':
      return value === null;
    default:
      return true; // a type this check does not know: not a certain violation
  }
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

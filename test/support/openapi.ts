/**
 * Reading the live OpenAPI document (`/docs-json`) the way Swagger UI does, for tests that must cover
 * every operation without naming them: the Swagger examples test and the fuzz test.
 */

export type Schema = {
  $ref?: string;
  type?: string;
  format?: string;
  example?: unknown;
  default?: unknown;
  enum?: unknown[];
  nullable?: boolean;
  readOnly?: boolean;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  allOf?: Schema[];
  oneOf?: Schema[];
  anyOf?: Schema[];
  minimum?: number;
  maximum?: number;
};

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Schema;
  example?: unknown;
}

interface MediaType {
  schema?: Schema;
  example?: unknown;
  examples?: Record<string, { value: unknown }>;
}

export interface Operation {
  method: string;
  path: string;
  operationId?: string;
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, MediaType> };
  responses: Record<string, { description?: string; content?: Record<string, MediaType> }>;
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, Omit<Operation, 'method' | 'path'>>>;
  components?: { schemas?: Record<string, Schema> };
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** Every operation of the document, in the document's order. */
export function operationsOf(spec: OpenApiDocument): Operation[] {
  return Object.entries(spec.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, operation]) => ({ ...operation, method: method.toUpperCase(), path })),
  );
}

/** The schema a `$ref` points to (components/schemas), or the schema itself. */
export function resolve(spec: OpenApiDocument, schema: Schema | undefined): Schema | undefined {
  let current = schema;
  for (let hops = 0; current?.$ref && hops < 20; hops++) {
    const name = current.$ref.replace('#/components/schemas/', '');
    current = spec.components?.schemas?.[name];
  }
  return current;
}

/** The JSON media type of a request body or response, if it has one. */
export function jsonMedia(content: Record<string, MediaType> | undefined): MediaType | undefined {
  return content?.['application/json'];
}

/**
 * The value Swagger UI fills in for a schema: the example wherever one is given, else the default, else
 * the first enum value, else a placeholder by type ("string", 0, true); objects get every property
 * (optional ones too, as Swagger UI shows them), arrays one item.
 */
export function sampleOf(spec: OpenApiDocument, schema: Schema | undefined, depth = 0): unknown {
  const resolved = resolve(spec, schema);
  if (!resolved || depth > 20) return undefined;
  if (resolved.example !== undefined) return resolved.example;
  if (resolved.allOf) {
    const parts = resolved.allOf.map((part) => sampleOf(spec, part, depth + 1));
    return Object.assign({}, ...parts.filter((part) => typeof part === 'object' && part !== null));
  }
  const alternative = resolved.oneOf?.[0] ?? resolved.anyOf?.[0];
  if (alternative) return sampleOf(spec, alternative, depth + 1);
  if (resolved.default !== undefined) return resolved.default;
  if (resolved.enum && resolved.enum.length > 0) return resolved.enum[0];
  switch (resolved.type ?? (resolved.properties ? 'object' : undefined)) {
    case 'object': {
      const sample: Record<string, unknown> = {};
      for (const [name, property] of Object.entries(resolved.properties ?? {})) {
        if (resolve(spec, property)?.readOnly) continue;
        sample[name] = sampleOf(spec, property, depth + 1);
      }
      if (!resolved.properties && resolved.additionalProperties) {
        const value = resolved.additionalProperties === true ? {} : sampleOf(spec, resolved.additionalProperties);
        sample.additionalProp1 = value;
      }
      return sample;
    }
    case 'array':
      return [sampleOf(spec, resolved.items, depth + 1)];
    case 'integer':
    case 'number':
      return resolved.minimum ?? 0;
    case 'boolean':
      return true;
    case 'string':
      return resolved.format === 'uuid' ? '3fa85f64-5717-4562-b3fc-2c963f66afa6' : 'string';
    default:
      return undefined;
  }
}

/** The request body Swagger UI pre-fills: the media type's example (or first of its examples), else a sample of its schema. */
export function exampleBodyOf(spec: OpenApiDocument, operation: Operation): unknown {
  const media = jsonMedia(operation.requestBody?.content);
  if (!media) return undefined;
  if (media.example !== undefined) return media.example;
  const first = Object.values(media.examples ?? {})[0];
  if (first) return first.value;
  return sampleOf(spec, media.schema);
}

/** The example of a parameter, as Swagger UI pre-fills it on "Try it out". */
export function exampleOfParameter(spec: OpenApiDocument, parameter: Parameter): unknown {
  return parameter.example ?? resolve(spec, parameter.schema)?.example;
}

/** Every example a response documents (its media type's example and named examples). */
export function responseExamplesOf(operation: Operation, status: string): unknown[] {
  const media = jsonMedia(operation.responses[status]?.content);
  if (!media) return [];
  return [
    ...(media.example !== undefined ? [media.example] : []),
    ...Object.values(media.examples ?? {}).map((example) => example.value),
  ];
}

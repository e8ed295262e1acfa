import type { OpenAPIObject } from '@nestjs/swagger';
import { DomainError } from './domain-error';

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** A request no route serves: says what is served instead, and where the API is described. */
export class UnknownRoute extends DomainError {
  readonly kind = 'not_found';
  readonly code = 'unknown_route';

  constructor(method: string, path: string, openAiRoutes: readonly string[]) {
    super(
      path === '/v1' || path.startsWith('/v1/')
        ? `Switchyard serves no ${method} ${path}. Its OpenAI-compatible routes are ${openAiRoutes.join(', ')}; the operator API is under /api, described at /docs.`
        : `No route ${method} ${path}. The API is described at /docs (its OpenAPI document at /docs-json).`,
    );
  }
}

/** A route that exists, asked with a method it does not take. */
export class MethodNotAllowed extends DomainError {
  readonly kind = 'method_not_allowed';
  readonly code = 'method_not_allowed';

  constructor(method: string, path: string, allowed: readonly string[]) {
    super(`${path} does not take ${method}; it takes ${allowed.join(', ')}.`, {
      headers: { allow: allowed.join(', ') },
    });
  }
}

/**
 * The documented routes (the OpenAPI document's paths), to answer a request that matches none of them
 * with what to call instead: 405 with Allow when the path exists for other methods, else 404 listing
 * the OpenAI-compatible routes on /v1.
 */
export class RouteIndex {
  private readonly routes: Array<{ pattern: RegExp; methods: string[] }>;
  private readonly openAiRoutes: string[];

  constructor(document: Pick<OpenAPIObject, 'paths'>) {
    // Matched as Express routes them: any letter case, an optional trailing slash.
    this.routes = Object.entries(document.paths).map(([template, item]) => ({
      pattern: new RegExp(
        `^${template
          .split(/\{[^}]+\}/)
          .map(escapeRegExp)
          .join('[^/]+')}/?$`,
        'i',
      ),
      methods: HTTP_METHODS.filter((method) => item[method] !== undefined).map((method) => method.toUpperCase()),
    }));
    this.openAiRoutes = Object.entries(document.paths)
      .filter(([template]) => template.startsWith('/v1/'))
      .flatMap(([template, item]) =>
        HTTP_METHODS.filter((method) => item[method] !== undefined).map(
          (method) => `${method.toUpperCase()} ${template}`,
        ),
      );
  }

  /** The answer to `method path` (no query string) that no route took. */
  refusal(method: string, path: string): DomainError {
    const allowed = this.routes.find((route) => route.pattern.test(path))?.methods;
    if (allowed && allowed.length > 0 && !allowed.includes(method)) return new MethodNotAllowed(method, path, allowed);
    return new UnknownRoute(method, path, this.openAiRoutes);
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

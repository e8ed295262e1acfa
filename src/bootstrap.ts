import { type INestApplication, ValidationPipe } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import { AccessService } from './access/access.service';
import { AppModule } from './app.module';
import { HttpExceptionFilter } from './common/http-exception.filter';
import { requestLogger } from './common/logging.module';
import { corsOptionsOf } from './common/cors-policy';
import { AppLogger } from './common/pino-logger';
import type { AccessConfig } from './config/access.config';
import type { AppConfig } from './config/app.config';
import { CompletionEntrance } from './gateway/completion-entrance';
import { assertValidConfiguration } from './config/configuration';

/** Creates the app exactly as `npm start` runs it; tests and the OpenAPI export use it too. */
export async function createApp(): Promise<NestExpressApplication> {
  assertValidConfiguration();
  const app = await NestFactory.create<NestExpressApplication>(AppModule, {
    bufferLogs: true,
    bodyParser: false,
    abortOnError: false,
  });
  configureApp(app);
  return app;
}

export function configureApp(app: NestExpressApplication): void {
  const config = app.get(ConfigService).getOrThrow<AppConfig>('app');
  const access = app.get(ConfigService).getOrThrow<AccessConfig>('access');
  const logger = app.get(AppLogger);
  app.useLogger(logger);
  // First, so every Express request has its id (req.id) before anything can answer or fail it,
  // and gets one line in the log when done.
  app.use(requestLogger(logger.root));
  app.disable('x-powered-by');
  // Security headers on everything Express serves (the raw completions entrance answers JSON/SSE only).
  // No upgrade-insecure-requests: the gateway often runs on plain HTTP inside a network, and the
  // directive would make browsers fetch Swagger UI's own scripts over https.
  app.use(helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } }));
  // Off unless CORS_ORIGINS names the browser apps allowed to call us.
  const cors = corsOptionsOf(access);
  if (cors) app.enableCors(cors);
  // Prompts can be large: the body limit is a deliberate setting, not Express's 100 kB default.
  app.useBodyParser('json', { limit: config.requestBodyLimit });
  app.useGlobalPipes(
    new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true, stopAtFirstError: false }),
  );
  app.useGlobalFilters(new HttpExceptionFilter(config.requestBodyLimit));
  app.enableShutdownHooks();
  app.get(CompletionEntrance).install(app.getHttpServer());
  // Swagger's routes are plain Express routes, outside the global guard.
  if (!access.docsPublic) app.use(['/docs', '/docs-json'], requireAnyKey(app.get(AccessService)));
  SwaggerModule.setup('docs', app, buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    swaggerOptions: { persistAuthorization: true },
  });
}

/** DOCS_PUBLIC=false: the docs need a valid key, whatever its scope. */
function requireAnyKey(access: AccessService) {
  return (req: Request, _res: Response, next: NextFunction) => {
    try {
      access.identify(req.headers.authorization);
      next();
    } catch (error) {
      next(error);
    }
  };
}

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Switchyard')
    .setDescription(
      'Internal AI gateway: OpenAI-compatible completions routed by use-case policy and feature flag, ' +
        'per-request metrics, canary rollouts. Errors on /v1/* use the OpenAI error shape; elsewhere ApiErrorDto.',
    )
    .setVersion('1.0')
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      description:
        'A Switchyard API key (sy_…): the first one is printed by the first start, or set SWITCHYARD_ADMIN_KEY; teams get theirs from POST /api/keys',
    })
    .build();
  return SwaggerModule.createDocument(app, config);
}

import type { INestApplication } from '@nestjs/common';
import type { Server } from 'node:http';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { type Express, json, type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { AccessService } from './access/access.service';
import { AppModule } from './app.module';
import type { Clock } from './common/clock';
import { HttpExceptionFilter } from './common/http-exception.filter';
import { answerParseErrors } from './common/http-parse-errors';
import { RouteIndex } from './common/route-index';
import { checkOperatorInput, checkJsonBeforeParse, refuseDeepJson } from './common/request-guards';
import { requestLogger } from './common/logging.module';
import { corsOptionsOf } from './common/cors-policy';
import { AppLogger } from './common/pino-logger';
import { operatorValidationPipe } from './common/validation';
import { OperatorTimeoutInterceptor } from './common/operator-timeout.interceptor';
import { UndeclaredInputInterceptor } from './common/undeclared-input.interceptor';
import type { AccessConfig } from './config/access.config';
import type { AppConfig } from './config/app.config';
import { CompletionEntrance } from './gateway/completion-entrance';
import { assertValidConfiguration } from './config/configuration';
import { ShutdownCoordinator } from './lifecycle/shutdown-coordinator';
import { policyBookProblems } from './routing/policy-book';
import { STRATEGY_CLASSES } from './routing/strategies';

const coordinators = new WeakMap<INestApplication, ShutdownCoordinator>();

/**
 * Creates the app exactly as `npm start` runs it; tests and scripts use it too. A test may pass its
 * own `clock` (a ManualClock) to move time and run the scheduled jobs by hand. Stop it with
 * `shutDownApp`, not `app.close()`: only the coordinator lets requests finish before the writers
 * drain, and stops an embedded Postgres after them.
 */
export async function createApp(options: { clock?: Clock } = {}): Promise<NestExpressApplication> {
  assertStartableConfiguration();
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(options), {
    // Start-up's log lines wait for our logger; when start-up fails they are not printed on their
    // own (main prints the reason in one line, and flushes them only for an unexpected failure).
    bufferLogs: true,
    autoFlushLogs: false,
    bodyParser: false,
    abortOnError: false,
  });
  configureApp(app);
  const { shutdownTimeoutMs } = app.get(ConfigService).getOrThrow<AppConfig>('app');
  coordinators.set(app, new ShutdownCoordinator(app, shutdownTimeoutMs));
  return app;
}

/**
 * Before anything starts (createApp, and `npm start`'s process before it checks its ports): every
 * configuration problem, a catalog policy no strategy class serves among them, in one error.
 */
export function assertStartableConfiguration(): void {
  const strategies = new Map(STRATEGY_CLASSES.map((Strategy) => new Strategy()).map((s) => [s.name, s]));
  assertValidConfiguration([(candidate) => policyBookProblems(candidate.catalog, strategies)]);
}

/** Stops an app made by createApp in order (see ShutdownCoordinator); later calls share the first one's run. */
export function shutDownApp(app: INestApplication, reason = 'close'): Promise<void> {
  const coordinator = coordinators.get(app);
  if (!coordinator) throw new Error('shutDownApp: the app was not made by createApp');
  return coordinator.shutDown(reason);
}

export function configureApp(app: NestExpressApplication): void {
  const config = app.get(ConfigService).getOrThrow<AppConfig>('app');
  const access = app.get(ConfigService).getOrThrow<AccessConfig>('access');
  const logger = app.get(AppLogger);
  app.useLogger(logger);
  app.flushLogs();
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
  // Express's own json() rather than Nest's useBodyParser, whose options leave out `verify`.
  app.use(json({ limit: config.requestBodyLimit, verify: checkJsonBeforeParse }));
  app.use(refuseDeepJson, checkOperatorInput);
  app.useGlobalPipes(operatorValidationPipe());
  app.useGlobalInterceptors(new UndeclaredInputInterceptor(), new OperatorTimeoutInterceptor(config.operatorTimeoutMs));
  const document = buildOpenApiDocument(app);
  app.useGlobalFilters(new HttpExceptionFilter(config.requestBodyLimit, new RouteIndex(document)));
  app.get(CompletionEntrance).install(app.getHttpServer());
  // The completion route answers a stalled body itself (408 after REQUEST_BODY_TIMEOUT_MS); the
  // operator routes' body parser has no timer, so Node's own cuts them: at its next check after this
  // (it checks every 30 s), not after 300 s.
  (app.getHttpServer() as Server).requestTimeout = config.requestBodyTimeoutMs + 5_000;
  answerParseErrors(app.getHttpServer() as Server);
  // Swagger's routes are plain Express routes, outside the global guard.
  if (!access.docsPublic) app.use(['/docs', '/docs-json'], requireAnyKey(app.get(AccessService)));
  // The bare URL is where a newcomer looks first: the control room (the API docs are at /docs).
  (app.getHttpAdapter().getInstance() as Express).get('/', (_req, res) => res.redirect(302, '/ui'));
  SwaggerModule.setup('docs', app, document, {
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
      // An opaque key, not a JWT (the default this field would otherwise say).
      bearerFormat: 'sy_ API key',
      description:
        'A Switchyard API key (sy_…): the first one is printed by the first start, or set SWITCHYARD_ADMIN_KEY; teams get theirs from POST /api/keys',
    })
    .build();
  return SwaggerModule.createDocument(app, config);
}

import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { buildOpenApiDocument } from './bootstrap';

/**
 * `npm run openapi`: writes the spec the app serves at /docs-json to docs/openapi.json. Preview mode
 * reads the controllers' metadata without starting anything (no database, no simulator).
 */
async function exportOpenApi(): Promise<void> {
  const app = await NestFactory.create(AppModule.forRoot(), { preview: true, logger: false });
  const document = buildOpenApiDocument(app);
  writeFileSync('docs/openapi.json', `${JSON.stringify(document, null, 2)}\n`);
  await app.close();
  console.log(`docs/openapi.json written (${Object.keys(document.paths).length} paths)`);
}

exportOpenApi().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

import 'reflect-metadata';
import { ConfigService } from '@nestjs/config';
import { createApp } from './bootstrap';
import type { AppConfig } from './config/app.config';

async function main(): Promise<void> {
  const app = await createApp();
  const config = app.get(ConfigService).getOrThrow<AppConfig>('app');
  await app.listen(config.port, config.host);
  const url = await app.getUrl();
  // Nest closes the app on these signals; if something hangs, exit anyway rather than never.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => setTimeout(() => process.exit(1), config.shutdownTimeoutMs).unref());
  }
  console.log(`Switchyard listening on ${url.replace('[::1]', 'localhost')} (Swagger at /docs)`);
}

main().catch((error: unknown) => {
  // Configuration errors already say what to fix; anything else gets its stack.
  const message = error instanceof Error && error.name === 'ConfigurationError' ? error.message : error;
  console.error('Switchyard failed to start:', message);
  process.exit(1);
});

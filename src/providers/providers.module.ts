import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { HttpModule } from '@nestjs/axios';
import { Module } from '@nestjs/common';
import { CatalogService } from './catalog.service';
import { ModelHealth } from './model-health';
import { ProviderClient } from './provider-client';
import { ProviderKeyRing } from './provider-keys';
import { SimulatorHost } from './simulator/simulator-host';

/** Keep-alive pools: a new TCP (and TLS) handshake per upstream call would dominate the added latency. */
const KEEP_ALIVE = { keepAlive: true, maxSockets: 512, maxFreeSockets: 64, scheduling: 'lifo' as const };

@Module({
  imports: [HttpModule.register({ httpAgent: new HttpAgent(KEEP_ALIVE), httpsAgent: new HttpsAgent(KEEP_ALIVE) })],
  providers: [CatalogService, SimulatorHost, ProviderKeyRing, ModelHealth, ProviderClient],
  exports: [CatalogService, ModelHealth, ProviderClient],
})
export class ProvidersModule {}

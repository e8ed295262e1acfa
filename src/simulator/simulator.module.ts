import { Module } from '@nestjs/common';
import { CatalogModule } from '../catalog/catalog.module';
import { SimulatorHost } from './simulator-host';

/** Starts the simulated provider (libs/simulator) inside the app when the catalog asks for it. */
@Module({ imports: [CatalogModule], providers: [SimulatorHost] })
export class SimulatorModule {}

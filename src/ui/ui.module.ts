import { Module } from '@nestjs/common';
import { UiAssets } from './ui-assets';
import { UiController } from './ui.controller';

/** Serves the control room's built files at /ui (see docs/architecture.md, Control room). */
@Module({ controllers: [UiController], providers: [UiAssets] })
export class UiModule {}

import { type DynamicModule, Global, Module } from '@nestjs/common';
import { Clock } from './clock';

/**
 * Provides the one Clock to every module. The app's root imports `ClockModule.forRoot()` (the system
 * clock); tests that start the real app pass their ManualClock through `createApp({ clock })`.
 */
@Global()
@Module({})
export class ClockModule {
  static forRoot(clock: Clock = new Clock()): DynamicModule {
    return { module: ClockModule, providers: [{ provide: Clock, useValue: clock }], exports: [Clock] };
  }
}

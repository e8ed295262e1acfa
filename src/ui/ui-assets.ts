import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AppConfig } from '../config/app.config';
import { UiAssetNotFound, UiNotBuilt } from './ui.errors';

export interface UiFile {
  body: Buffer;
  contentType: string;
  etag: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/**
 * The control room's built files (ui/build.mjs writes them to UI_DIR), read once at start-up and
 * served from memory: a few hundred kilobytes, so no request touches the disk. Asset names carry a
 * content hash (they may be cached for a year); index.html names them and is revalidated each time.
 */
@Injectable()
export class UiAssets implements OnModuleInit {
  private readonly logger = new Logger(UiAssets.name);
  private readonly dir: string;
  private index: UiFile | null = null;
  private readonly assets = new Map<string, UiFile>();

  constructor(config: ConfigService) {
    this.dir = config.getOrThrow<AppConfig>('app').uiDir;
  }

  async onModuleInit(): Promise<void> {
    try {
      this.index = fileOf('index.html', await readFile(join(this.dir, 'index.html')));
    } catch {
      this.logger.warn(
        { dir: this.dir },
        'the control room is not built (no index.html): /ui answers 503 until npm run build and a restart',
      );
      return;
    }
    const names = await readdir(join(this.dir, 'assets')).catch(() => [] as string[]);
    for (const name of names) {
      if (!(extname(name) in CONTENT_TYPES)) continue;
      this.assets.set(name, fileOf(name, await readFile(join(this.dir, 'assets', name))));
    }
  }

  indexPage(): UiFile {
    if (!this.index) throw new UiNotBuilt();
    return this.index;
  }

  asset(name: string): UiFile {
    const file = this.assets.get(name);
    if (!file) throw new UiAssetNotFound(name);
    return file;
  }
}

function fileOf(name: string, body: Buffer): UiFile {
  return {
    body,
    contentType: CONTENT_TYPES[extname(name)],
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
  };
}

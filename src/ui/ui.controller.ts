import { Controller, Get, Header, Param, Req, Res, StreamableFile } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../access/access.decorators';
import { UiAssets, type UiFile } from './ui-assets';

/**
 * Only what the bundle needs: scripts, styles, images and API calls from this origin; no inline
 * script or style, no plugins, no frames, no forms posted elsewhere.
 */
export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The control room: a static page that signs in with an API key and calls /api like any client.
 * The files are public (they hold no data); every figure they show comes from /api with the key.
 */
@ApiExcludeController()
@Public()
@Controller('ui')
export class UiController {
  constructor(private readonly files: UiAssets) {}

  @Get()
  @Header('Cache-Control', 'no-cache')
  index(@Req() req: Request, @Res({ passthrough: true }) res: Response): StreamableFile | undefined {
    return send(this.files.indexPage(), req, res);
  }

  @Get('assets/:name')
  @Header('Cache-Control', 'public, max-age=31536000, immutable')
  asset(
    @Param('name') name: string,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): StreamableFile | undefined {
    return send(this.files.asset(name), req, res);
  }
}

function send(file: UiFile, req: Request, res: Response): StreamableFile | undefined {
  res.setHeader('Content-Security-Policy', UI_CSP);
  res.setHeader('ETag', file.etag);
  if (req.headers['if-none-match'] === file.etag) {
    res.status(304);
    return undefined;
  }
  return new StreamableFile(file.body, { type: file.contentType, length: file.body.length });
}

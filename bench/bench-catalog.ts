import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './processes';

/** The default catalog with its simulator on a free port, for a bench script's app (SWITCHYARD_CATALOG). */
export async function benchCatalogFile(): Promise<string> {
  const catalog = JSON.parse(readFileSync(join(process.cwd(), 'src/config/default-catalog.json'), 'utf8'));
  const port = await freePort();
  catalog.simulator.port = port;
  for (const provider of catalog.providers) provider.baseUrl = `http://127.0.0.1:${port}/v1`;
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-catalog-'));
  const path = join(dir, 'catalog.json');
  writeFileSync(path, JSON.stringify(catalog));
  return path;
}

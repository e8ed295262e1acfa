import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * src/config/default-catalog.json as jest sees it (jest.config maps the import here). Jest in ESM
 * mode warns on a JSON import without `with { type: 'json' }`, and `nest build`'s CommonJS output
 * cannot carry that attribute, so the app's source keeps its plain import and tests read the same
 * file as data. Jest runs from the project's root.
 */
const catalog: unknown = JSON.parse(readFileSync(join(process.cwd(), 'src/config/default-catalog.json'), 'utf8'));
export default catalog;

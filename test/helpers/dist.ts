// Worker threads run compiled JavaScript (a Worker cannot load .ts here): tests that start one
// import the module from dist/, which `npm test` builds first.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** file:// URL of the compiled form of `src/...ts`; throws with the remedy when it is missing. */
export function distModule(srcPath: string): string {
  const file = join(root, 'dist', srcPath.replace(/\.ts$/, '.js'));
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` before this test`);
  return pathToFileURL(file).href;
}

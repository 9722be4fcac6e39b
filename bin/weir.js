#!/usr/bin/env node
// The `weir` command: runs the compiled CLI (npm run build makes dist/).
import { existsSync } from 'node:fs';

const cli = new URL('../dist/src/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('weir: dist/ is missing; run `npm run build` in the weir package first\n');
  process.exit(1);
}
const { main } = await import(cli.href);
await main(process.argv.slice(2));

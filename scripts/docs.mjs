// Regenerates the parts of README.md that are derived from code: the configuration table.
// `npm run docs` after changing src/config.ts; test/unit/readme.test.ts fails until you do.
import { readFileSync, writeFileSync } from 'node:fs';
import { optionsTable } from '../dist/src/config.js';

const path = new URL('../README.md', import.meta.url);
const readme = readFileSync(path, 'utf8');
const begin = readme.indexOf('<!-- config:begin');
const end = readme.indexOf('<!-- config:end -->');
if (begin < 0 || end < 0)
  throw new Error('README.md lacks the <!-- config:begin --> / <!-- config:end --> markers');
const head = readme.slice(0, readme.indexOf('\n', begin) + 1);
writeFileSync(path, `${head}${optionsTable()}\n${readme.slice(end)}`);
console.log('docs: README.md configuration table regenerated');

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { optionsTable } from '../../src/config.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('shows the configuration table generated from src/config.ts (run `npm run docs` to refresh)', () => {
    const begin = readme.indexOf('\n', readme.indexOf('<!-- config:begin')) + 1;
    const end = readme.indexOf('<!-- config:end -->');
    expect(readme.slice(begin, end).trim()).toBe(optionsTable());
  });

  it('names the test command that .ci/run runs', () => {
    const ci = readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8');
    expect(ci).toMatch(/^npm test$/m);
    expect(readme).toMatch(/^npm test\s/m);
  });
});

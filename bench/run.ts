// Runs the tinybench micro-benchmark suites: `npm run bench` (all) or `npm run bench -- codec`.
// Each suite measures Weir against a peer in the same process and run, and prints a table.
import { run as codec } from './codec.bench.js';
import { run as ring } from './ring.bench.js';
import { run as topic } from './topic.bench.js';

const suites: Record<string, () => Promise<void>> = { codec, topic, ring };
const wanted = process.argv.slice(2);
for (const [name, suite] of Object.entries(suites)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  console.log(`\n## ${name}\n`);
  await suite();
}

// Runs only the topic-matching benchmark (bench/topic.bench.ts), without the codec suite:
//   npx tsc -p tsconfig.build.json && node --expose-gc dist/bench/topic-only.js
import { run } from './topic.bench.js';

await run();

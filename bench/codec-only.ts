// Runs the codec benchmark alone: `npx tsc -p tsconfig.build.json && node dist/bench/codec-only.js`.
import { run } from './codec.bench.js';

await run();

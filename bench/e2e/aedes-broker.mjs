// aedes launcher for `npm run bench:e2e`: node bench/e2e/aedes-broker.mjs PORT
// Copied from the team's peerbench tool (shared/peerbench/aedes-broker.mjs; only reformatted to
// this project's style) so that the benchmark needs nothing outside the project. aedes is a
// devDependency of this package (pinned to 1.2.0, the version peerbench measures).
// aedes defaults are kept (in-memory persistence). TCP_NODELAY stays off (Node's default, like
// mosquitto's set_tcp_nodelay false default) unless BROKER_NODELAY=1.
import net from 'node:net';
import { Aedes } from 'aedes';

const port = Number(process.argv[2] || process.env.BROKER_PORT || 1883);
const host = process.env.BROKER_HOST || '127.0.0.1';
const opts = process.env.AEDES_OPTS ? JSON.parse(process.env.AEDES_OPTS) : {};
const aedes = await Aedes.createBroker(opts);
const server = net.createServer({ noDelay: process.env.BROKER_NODELAY === '1' }, aedes.handle);
let errors = 0;
aedes.on('clientError', () => {
  errors++;
});
aedes.on('connectionError', () => {
  errors++;
});
server.listen({ port, host, backlog: 1024 }, () => {
  console.log(`aedes listening on ${host}:${port}`);
});
function stop() {
  if (errors) console.log(`aedes: ${errors} client/connection errors`);
  server.close();
  aedes.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

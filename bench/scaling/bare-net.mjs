#!/usr/bin/env node
// bench/scaling/bare-net.mjs PORT: the floor of any broker built on node:net. It accepts TCP
// connections, answers every CONNECT with a fixed CONNACK and every PINGREQ with a PINGRESP, and
// does nothing else. Run mqload's conn scenario against it to see what Node's socket layer alone
// costs per connection (rate and peak RSS), without any MQTT work:
//
//   node bench/scaling/bare-net.mjs 18830 &
//   mqload --port 18830 --mode conn --conns 10000 --duration 3
import net from 'node:net';

const port = Number(process.argv[2] ?? 18830);
const connack = Buffer.from([0x20, 2, 0, 0]);
const pingresp = Buffer.from([0xd0, 0]);
net
  .createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('data', (d) => {
      if (d[0] === 0x10) socket.write(connack);
      else if ((d[0] & 0xf0) === 0xc0) socket.write(pingresp);
    });
    socket.on('error', () => {});
  })
  .listen(port, '127.0.0.1');

#!/usr/bin/env node
// bench/scaling/bare-net.mjs PORT [net|handle]: the floor of any broker built on Node's sockets. It
// accepts TCP connections, answers every CONNECT with a fixed CONNACK and every PINGREQ with a
// PINGRESP, and does nothing else. Run mqload's conn scenario against it to see what Node's socket
// layer alone costs per connection (rate and peak RSS), without any MQTT work:
//
//   node bench/scaling/bare-net.mjs 18830 net &      # net.Socket per connection
//   node bench/scaling/bare-net.mjs 18831 handle &   # TCP handles, as src/net/tcp-handle.ts
//   mqload --port 18830 --mode conn --conns 10000 --duration 3
//
// It answers from the first byte of each read, which is enough for mqload's one packet per read.
import net from 'node:net';

const port = Number(process.argv[2] ?? 18830);
const kind = process.argv[3] ?? 'net';
const connack = Buffer.from([0x20, 2, 0, 0]);
const pingresp = Buffer.from([0xd0, 0]);
const answer = (first) => (first === 0x10 ? connack : (first & 0xf0) === 0xc0 ? pingresp : null);

if (kind === 'net') {
  net
    .createServer((socket) => {
      socket.setNoDelay(true);
      socket.on('data', (d) => {
        const reply = answer(d[0]);
        if (reply) socket.write(reply);
      });
      socket.on('error', () => {});
    })
    .listen(port, '127.0.0.1');
} else {
  const { TCP, constants } = process.binding('tcp_wrap');
  const { WriteWrap, streamBaseState, kReadBytesOrError, kArrayBufferOffset } =
    process.binding('stream_wrap');
  const server = new TCP(constants.SERVER);
  if (server.bind('127.0.0.1', port) || server.listen(511)) throw new Error(`cannot listen on ${port}`);
  const done = () => {};
  server.onconnection = (status, handle) => {
    if (status) return;
    handle.setNoDelay(true);
    handle.onread = function (buffer) {
      const n = streamBaseState[kReadBytesOrError];
      if (n < 0) return this.close();
      const reply = answer(new Uint8Array(buffer, streamBaseState[kArrayBufferOffset], n)[0]);
      if (!reply) return;
      const req = new WriteWrap();
      req.handle = this;
      req.oncomplete = done;
      req.async = false;
      if (this.writeBuffer(req, reply)) this.close();
    };
    handle.readStart();
  };
  setInterval(() => {}, 1 << 30);
}

// Python's paho-mqtt (Debian's python3-paho-mqtt, 1.6) against Weir, over MQTT 3.1.1 and 5.0.
import { beforeAll, describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { requireTool, run } from './tools.js';

const PYTHON = '/usr/bin/python3';
beforeAll(async () => {
  requireTool(PYTHON, 'python3');
  await run(PYTHON, ['-c', 'import paho.mqtt.client']).catch(() => {
    throw new Error(
      "paho-mqtt is missing: install the Debian package python3-paho-mqtt (run 'sudo bash scripts/setup-system.sh')",
    );
  });
});
const suite = useBroker();

// Subscribes, publishes QoS 0/1/2 to itself through the broker, prints what arrived as JSON.
const script = `
import json, sys, time, threading
import paho.mqtt.client as mqtt
port, version = int(sys.argv[1]), sys.argv[2]
proto = mqtt.MQTTv5 if version == "5" else mqtt.MQTTv311
got, subscribed = [], threading.Event()
c = mqtt.Client(client_id="paho-" + version, protocol=proto)
c.on_message = lambda cl, u, m: got.append([m.topic, m.payload.decode(), m.qos])
c.on_subscribe = lambda *a: subscribed.set()
c.connect("127.0.0.1", port)
c.loop_start()
c.subscribe("paho/" + version + "/#", qos=2)
subscribed.wait(5)
for q in (0, 1, 2):
    c.publish("paho/%s/q%d" % (version, q), "hi %d" % q, qos=q).wait_for_publish(5)
deadline = time.time() + 5
while len(got) < 3 and time.time() < deadline:
    time.sleep(0.02)
c.disconnect()
c.loop_stop()
print(json.dumps(sorted(got)))
`;

describe('paho-mqtt (Python)', () => {
  for (const version of ['4', '5']) {
    it(`publishes and receives QoS 0, 1 and 2 (protocol level ${version})`, async () => {
      const out = await run(PYTHON, ['-c', script, String(suite.port), version], 15_000);
      expect(JSON.parse(out)).toEqual([
        [`paho/${version}/q0`, 'hi 0', 0],
        [`paho/${version}/q1`, 'hi 1', 1],
        [`paho/${version}/q2`, 'hi 2', 2],
      ]);
    });
  }
});

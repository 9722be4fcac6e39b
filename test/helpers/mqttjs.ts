// MQTT.js clients for one test file: connected with test defaults (no reconnects, a bounded
// connect), and all ended after the file.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export class Clients {
  private readonly open: MqttClient[] = [];

  async connect(url: string, clientId: string, options: IClientOptions = {}): Promise<MqttClient> {
    return this.track(
      await mqtt.connectAsync(url, { clientId, reconnectPeriod: 0, connectTimeout: 5000, ...options }),
    );
  }

  /** End this client with the others (for clients made with mqtt.connect to watch CONNACK). */
  track(client: MqttClient): MqttClient {
    this.open.push(client);
    return client;
  }

  async endAll(): Promise<void> {
    await Promise.all(this.open.splice(0).map((c) => c.endAsync(true)));
  }
}

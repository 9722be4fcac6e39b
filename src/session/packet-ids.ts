// Packet Identifiers a session uses for its outbound QoS 1/2 messages. An identifier stays in use
// until its flow completes (PUBACK, or PUBCOMP) [MQTT-5.0 2.2.1-3] [MQTT-3.1.1 2.3.1-2], and is
// never 0 [MQTT-5.0 2.2.1-2]. Allocation scans forward from the last one handed out, so ids are
// reused as late as possible (a late duplicate ack is then unlikely to hit a new flow).

const ID_COUNT = 65536;

export class PacketIds {
  private readonly used = new Uint8Array(ID_COUNT);
  private last = 0;
  private inUse = 0;

  /** A free identifier, now in use; 0 when all 65,535 are in use. */
  alloc(): number {
    if (this.inUse === ID_COUNT - 1) return 0;
    let id = this.last;
    do {
      id = id === ID_COUNT - 1 ? 1 : id + 1;
    } while (this.used[id] === 1);
    this.used[id] = 1;
    this.last = id;
    this.inUse++;
    return id;
  }

  /** Mark an identifier in use (restoring a session); false if it already was. */
  take(id: number): boolean {
    if (id < 1 || id >= ID_COUNT || this.used[id] === 1) return false;
    this.used[id] = 1;
    this.inUse++;
    return true;
  }

  free(id: number): void {
    if (id < 1 || id >= ID_COUNT || this.used[id] === 0) return;
    this.used[id] = 0;
    this.inUse--;
  }

  has(id: number): boolean {
    return this.used[id] === 1;
  }

  get size(): number {
    return this.inUse;
  }
}

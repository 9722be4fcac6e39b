// Packet Identifiers a session uses for its outbound QoS 1/2 messages. An identifier stays in use
// until its flow completes (PUBACK, or PUBCOMP) [MQTT-5.0 2.2.1-3] [MQTT-3.1.1 2.3.1-2], and is
// never 0 [MQTT-5.0 2.2.1-2]. Allocation scans forward from the last one handed out, so ids are
// reused as late as possible (a late duplicate ack is then unlikely to hit a new flow).
//
// The in-use set is a bitmap of 65,536 bits (8 KiB), made on the first allocation: most sessions
// (QoS 0 only) never need one, and idle connections must stay small.

const ID_COUNT = 65536;

export class PacketIds {
  private used: Uint32Array | undefined;
  private last = 0;
  private inUse = 0;

  private bits(): Uint32Array {
    this.used ??= new Uint32Array(ID_COUNT >>> 5);
    return this.used;
  }

  /** A free identifier, now in use; 0 when all 65,535 are in use. */
  alloc(): number {
    if (this.inUse === ID_COUNT - 1) return 0;
    const used = this.bits();
    let id = this.last;
    do {
      id = id === ID_COUNT - 1 ? 1 : id + 1;
    } while ((used[id >>> 5]! & (1 << (id & 31))) !== 0);
    used[id >>> 5]! |= 1 << (id & 31);
    this.last = id;
    this.inUse++;
    return id;
  }

  /** Mark an identifier in use (restoring a session); false if it already was. */
  take(id: number): boolean {
    if (id < 1 || id >= ID_COUNT || this.has(id)) return false;
    this.bits()[id >>> 5]! |= 1 << (id & 31);
    this.inUse++;
    return true;
  }

  free(id: number): void {
    if (id < 1 || id >= ID_COUNT || !this.has(id)) return;
    this.used![id >>> 5]! &= ~(1 << (id & 31));
    this.inUse--;
  }

  has(id: number): boolean {
    return this.used !== undefined && (this.used[id >>> 5]! & (1 << (id & 31))) !== 0;
  }

  get size(): number {
    return this.inUse;
  }
}

// What a shard does when its topic matcher's memory is full: the filter is refused (the SUBACK
// says 0x97 Quota exceeded, 0x80 in 3.1.1; a route from another shard is not learnt), the shard
// goes on, and the operator is told what to change, at most once a minute so that a client
// retrying in a loop cannot flood the log.
const WARN_EVERY_MS = 60_000;

export class MatcherFull {
  /** Filters refused since the shard started (subscriptions and routes). */
  total = 0;
  private unreported = 0;
  private lastWarning = -Infinity;

  constructor(
    private readonly shard: number,
    private readonly memoryBytes: number,
    private readonly write: (line: string) => void = (line) => process.stderr.write(line),
  ) {}

  refused(now = Date.now()): void {
    this.total++;
    this.unreported++;
    if (now - this.lastWarning < WARN_EVERY_MS) return;
    this.lastWarning = now;
    const mb = Math.round(this.memoryBytes / (1024 * 1024));
    this.write(
      `weir: shard ${this.shard}: ${this.unreported} subscription filter(s) refused (or their ` +
        `retained messages not looked up) because the ` +
        `topic matcher's ${mb} MiB of shard memory are full. Start weir with a larger ` +
        '--shard-memory-mb, or run more shards.\n',
    );
    this.unreported = 0;
  }
}

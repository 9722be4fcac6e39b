// What the operator hears of the shard's store: that it cannot write, and when it can again
// (posted on the shard's control port as a warning; the CLI prints it on stderr).
import type { WeirError } from '../errors.js';

/** The longest a store that keeps failing goes without its failure being told again. */
const FAILURE_REPORT_MS = 60_000;

/**
 * The store's health as the operator hears it. On a nearly full disk large writes fail while small
 * ones still commit, so the store can flip between failing and writing on every batch: a failure
 * is told at most once a minute (with how many more there were), and "writes again" only after a
 * failure that was told.
 */
export function storeHealthReport(
  path: string,
  tell: (message: string) => void,
  now: () => number = Date.now,
): (error: WeirError | null) => void {
  let toldAt = -Infinity;
  let untold = 0;
  let owed = false;
  return (error) => {
    if (!error) {
      if (owed) tell(`the store at ${path} writes again`);
      owed = false;
      return;
    }
    if (now() - toldAt < FAILURE_REPORT_MS) {
      untold++;
      return;
    }
    const more =
      untold > 0 ? ` (${untold} more failure${untold === 1 ? '' : 's'} since the last report)` : '';
    tell(
      `${error.message}${more}; until then, what needs the store is refused (persistent sessions, ` +
        'their subscriptions, QoS 1 and 2 messages for them, retained messages)',
    );
    toldAt = now();
    untold = 0;
    owed = true;
  };
}

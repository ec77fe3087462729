/**
 * Stable delivery (docs/ARCHITECTURE.md "Stable delivery", issue 27): polls
 * and history list a copy of an add only once it is settled here — once
 * its confirmer's word is in, by the two-disk ack rule (lib/acks/confirm.ts)
 * — so no reader is ever shown a copy that its confirmer later refuses.
 * The server installs the rule (`rule`, null: every copy is settled, as
 * with one-disk acks); Messages reads through it and notes the rooms where
 * a listing stopped at an unsettled copy (`held`), which the server wakes
 * again when a commit or a peer's `got` may have settled it (`take`).
 *
 * @example
 * ```ts
 * store.settling.rule = () => (origin, seq, conf) => gate.settled({ origin, seq, conf });
 * const test = store.settling.test(); // one per read: reads the clock and vector once
 * if (!test(origin, seq, conf)) store.settling.held(rkey);
 * wake(store.settling.take());
 * ```
 */

/** True when the copy `origin.seq` naming confirmer `conf` ("" for none) may be listed here. */
export type SettledTest = (origin: string, seq: number, conf: string) => boolean;

const ALWAYS: SettledTest = () => true;

/** The settling rule of a store and the rooms waiting on it. */
export class Settling {
  /** Makes the test for one read (null: every copy is settled). */
  rule: (() => SettledTest) | null = null;
  #rooms = new Set<string>();

  /** The test for one read. */
  test(): SettledTest {
    return this.rule?.() ?? ALWAYS;
  }

  /** True while some room waits for a copy to settle. */
  get waiting(): boolean {
    return this.#rooms.size > 0;
  }

  /** A listing of room key `rkey` stopped at an unsettled copy. */
  held(rkey: string): void {
    this.#rooms.add(rkey);
  }

  /** The room keys noted since the last call (then none are). */
  take(): Set<string> {
    const out = this.#rooms;
    this.#rooms = new Set();
    return out;
  }
}

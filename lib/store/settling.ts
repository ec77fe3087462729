/**
 * Stable delivery (docs/ARCHITECTURE.md "Stable delivery", issue 27): polls
 * and history list a copy of an add only once it is settled here — once
 * its confirmer's word is in, by the two-disk ack rule (lib/acks/confirm.ts)
 * — so no reader is ever shown a copy that its confirmer later refuses.
 * The server installs the rule (`rule`, null: every copy is settled, as
 * with one-disk acks); Messages reads through it and notes the rooms where
 * a listing stopped at an unsettled copy (`held`), with the copies it found
 * not settled, which the server wakes again after a commit or a peer's
 * `got` once one of those copies is settled (`take`): a held room is not
 * read again while nothing it waits on has changed.
 *
 * @example
 * ```ts
 * store.settling.rule = () => (origin, seq, conf) => gate.settled({ origin, seq, conf });
 * const test = store.settling.test(); // one per read: reads the clock and vector once
 * if (!test(origin, seq, conf)) store.settling.held(rkey, test);
 * wake(store.settling.take());
 * ```
 */

/** True when the copy `origin.seq` naming confirmer `conf` ("" for none) may be listed here. */
export type SettledTest = (origin: string, seq: number, conf: string) => boolean;

/** A copy a listing found not settled. */
type Unsettled = { origin: string; seq: number; conf: string };

const ALWAYS: SettledTest = () => true;

/** Most unsettled copies remembered per held room; past it the room is read again after every commit and `got`. */
const MAX_BLOCKERS = 64;

/** The settling rule of a store and the rooms waiting on it. */
export class Settling {
  /** Makes the test for one read (null: every copy is settled). */
  rule: (() => SettledTest) | null = null;
  /** Held rooms, each with the copies its listings found not settled (null: not known, read it again at every `take`). */
  #rooms = new Map<string, Unsettled[] | null>();
  /** The copies each read's test found not settled (what its `held` then waits on). */
  #failedOf = new WeakMap<SettledTest, Unsettled[]>();

  /** The test for one read; the copies it finds not settled are what `held` then waits on. */
  test(): SettledTest {
    const rule = this.rule?.();
    if (!rule) return ALWAYS;
    const failed: Unsettled[] = [];
    const test: SettledTest = (origin, seq, conf) => {
      if (rule(origin, seq, conf)) return true;
      if (failed.length <= MAX_BLOCKERS) failed.push({ origin, seq, conf });
      return false;
    };
    this.#failedOf.set(test, failed);
    return test;
  }

  /** True while some room waits for a copy to settle. */
  get waiting(): boolean {
    return this.#rooms.size > 0;
  }

  /**
   * A listing of room key `rkey` stopped at an unsettled copy: the room
   * waits on the copies its read's `test` found not settled (without
   * `test`, or when it found none — a hidden copy whose visible twin is
   * not here yet — on every `take`).
   */
  held(rkey: string, test?: SettledTest): void {
    const failed = test === undefined ? undefined : this.#failedOf.get(test)?.splice(0);
    const had = this.#rooms.get(rkey);
    if (had === null || failed === undefined || failed.length === 0) return void this.#rooms.set(rkey, null);
    const all = had ?? [];
    for (const c of failed) if (!all.some((d) => d.origin === c.origin && d.seq === c.seq)) all.push(c);
    this.#rooms.set(rkey, all.length > MAX_BLOCKERS ? null : all);
  }

  /**
   * The held rooms that a listing may now go further in — one of the
   * copies each waits on is settled by a test made now (or it waits on
   * what is not known) — and no longer held; the others stay held. A room
   * also gets new messages, hide ops and refusals as ops, which wake its
   * polls whatever this says.
   */
  take(): Set<string> {
    const out = new Set<string>();
    if (this.#rooms.size === 0) return out;
    const settled = this.rule?.() ?? ALWAYS;
    for (const [rkey, copies] of this.#rooms) {
      if (copies !== null && !copies.some((c) => settled(c.origin, c.seq, c.conf))) continue;
      this.#rooms.delete(rkey);
      out.add(rkey);
    }
    return out;
  }
}

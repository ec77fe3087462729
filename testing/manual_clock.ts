/**
 * A `Clock` (lib/server/clock.ts) that moves only when a test says so:
 * `advance(ms)` runs every timer that falls due, in time order, and
 * `runSoon()` runs what was queued for the next turn of the event loop.
 *
 * @example
 * ```ts
 * const clock = new ManualClock(1_700_000_000_000);
 * clock.after(100, () => fired = true);
 * clock.advance(99);  // not yet
 * clock.advance(1);   // fired
 * ```
 */
import type { Cancel, Clock } from "../lib/server/clock.ts";

type Timer = { at: number; every: number; fn: () => void; id: number; live: boolean };

export class ManualClock implements Clock {
  #now: number;
  #start: number;
  #timers: Timer[] = [];
  #soon: (() => void)[] = [];
  #ids = 0;

  constructor(start = 1_700_000_000_000) {
    this.#now = start;
    this.#start = start;
  }

  now(): number {
    return this.#now;
  }

  monotonic(): number {
    return this.#now - this.#start;
  }

  after(ms: number, fn: () => void): Cancel {
    return this.#add(ms, 0, fn);
  }

  every(ms: number, fn: () => void): Cancel {
    return this.#add(ms, Math.max(1, ms), fn);
  }

  soon(fn: () => void): void {
    this.#soon.push(fn);
  }

  /** Timers not yet fired or cancelled. */
  get pending(): number {
    return this.#timers.filter((t) => t.live).length;
  }

  /** Runs one turn: the `soon` callbacks queued so far (those they queue wait for the next turn). */
  runTurn(): void {
    const q = this.#soon;
    this.#soon = [];
    for (const fn of q) fn();
  }

  /** Runs queued `soon` callbacks (and those they queue) until none are left. */
  runSoon(): void {
    for (let guard = 0; this.#soon.length > 0; guard++) {
      if (guard > 100_000) throw new Error("ManualClock: soon() callbacks keep queuing more");
      const q = this.#soon;
      this.#soon = [];
      for (const fn of q) fn();
    }
  }

  /** Moves time forward by `ms`, running due timers in order (and `soon` callbacks after each). */
  advance(ms: number): void {
    const end = this.#now + ms;
    this.runSoon();
    for (;;) {
      const due = this.#timers.filter((t) => t.live && t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.#now = Math.max(this.#now, due.at);
      if (due.every > 0) due.at += due.every;
      else due.live = false;
      due.fn();
      this.runSoon();
      this.#timers = this.#timers.filter((t) => t.live);
    }
    this.#now = end;
  }

  #add(ms: number, every: number, fn: () => void): Cancel {
    const t: Timer = { at: this.#now + Math.max(0, ms), every, fn, id: this.#ids++, live: true };
    this.#timers.push(t);
    return () => void (t.live = false);
  }
}

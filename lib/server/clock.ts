/**
 * Time and timers, passed in. Everything in lib/server that waits or reads
 * the time takes a `Clock`, so tests drive it with testing/manual_clock.ts
 * and never sleep; server.ts passes `systemClock`.
 *
 * @example
 * ```ts
 * const cancel = clock.after(500, () => console.log("half a second later"));
 * cancel(); // not any more
 * ```
 */

/** Stops a timer; calling it again does nothing. */
export type Cancel = () => void;

export interface Clock {
  /** Milliseconds since the Unix epoch (wall time: stored in ops, compared with sessions' activity). */
  now(): number;
  /** A monotonic millisecond count, for measuring short spans (batch windows). */
  monotonic(): number;
  /** Runs `fn` once after `ms`. */
  after(ms: number, fn: () => void): Cancel;
  /** Runs `fn` every `ms` until cancelled. */
  every(ms: number, fn: () => void): Cancel;
  /** Runs `fn` on the next turn of the event loop, after the I/O already waiting. */
  soon(fn: () => void): void;
}

/**
 * `clock` read `lead()` ms earlier: the chat time of a server whose clock
 * runs ahead of its slowest peer's (lib/server/peer_port.ts clockLead).
 * Timers are relative, so they are the same.
 */
export function laggingClock(clock: Clock, lead: () => number): Clock {
  return {
    now: () => clock.now() - lead(),
    monotonic: () => clock.monotonic(),
    after: (ms, fn) => clock.after(ms, fn),
    every: (ms, fn) => clock.every(ms, fn),
    soon: (fn) => clock.soon(fn),
  };
}

/** The real clock: Date.now, performance.now and the runtime's timers (unref'd ones never keep a process alive). */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
  every(ms, fn) {
    const t = setInterval(fn, ms);
    return () => clearInterval(t);
  },
  soon: (fn) => void setImmediate(fn),
};

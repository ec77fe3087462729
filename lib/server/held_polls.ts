/**
 * The long polls a server is holding (docs/PROTOCOL.md "request"): found by
 * their retransmission key, by room (to answer them when a message
 * arrives), and by deadline through a binary heap, so expiring the due ones
 * costs O(due · log held), never a scan of all of them. One timer, set for
 * the earliest deadline, calls `onDue`; the owner then takes the due polls
 * (`takeDue`) when it is ready to answer them.
 *
 * Each held poll is charged its estimated heap bytes (`heldBytes`) to the
 * source address that sent it and to the total, so the client port can
 * refuse a poll past either budget before it is held.
 *
 * @example
 * ```ts
 * const polls = new HeldPolls(clock, () => answer(polls.takeDue(clock.now())));
 * polls.hold(waiter, from);
 * for (const h of polls.inRoom("lobby")) …;
 * ```
 */
import type { Address } from "../net/address.ts";
import type { Vector } from "../wire/vector.ts";
import type { Cancel, Clock } from "./clock.ts";
import { nameKey } from "../wire/names.ts";
import { Counts } from "./counts.ts";

/** A long poll being held: answered when a message arrives or at `deadline`. */
export type Waiter = {
  /** Retransmission key: session and tag. */
  key: string;
  tag: string;
  session: string;
  /** The room as stored (a direct conversation: "@x@y"). */
  groupName: string;
  /** The name the reply gives the room when it differs (a direct conversation: "@" + the other user). */
  label?: string;
  /** The client asked for notices (docs/PROTOCOL.md "Notices"). */
  notices?: boolean;
  cursor: Vector;
  deadline: number;
  /** Longest reply the requester may get (lib/server/address_budget.ts); default 8192. */
  maxBytes?: number;
};

/** A held poll and where its answer goes (the newest address it was retransmitted from); `ip` and `bytes`: what it is charged to. */
export type Held = Waiter & { to: Address; ip: string; bytes: number };

/** Limits of held long polls (the client port refuses past them): per session, and estimated KiB of heap per source address and in all. */
export type HeldPollLimits = { heldPollsPerSession: number; heldPollKibPerIp: number; heldPollKib: number };

/** docs/OPERATIONS.md "Quotas" says why these. */
export const DEFAULT_HELD_POLL_LIMITS: HeldPollLimits = { heldPollsPerSession: 64, heldPollKibPerIp: 8192, heldPollKib: 131072 };

/**
 * Origins a poll's cursor may name that this server has not heard of
 * (incarnations of servers it has not seen yet), besides those it knows;
 * the client port adds the servers of servers.txt, which a server catching
 * up from an empty database has not heard of yet (docs/PROTOCOL.md "Cursors").
 */
export const UNHEARD_ORIGINS = 8;

/**
 * Why a cursor is refused (`bad-request`): it names more than `slack`
 * origins that are not in `known` (the server's vector); null when it is
 * fine. Each entry costs a held poll ~60-90 bytes of heap, and an 8 KB
 * cursor has hundreds.
 */
export function cursorProblem(cursor: Vector, known: Vector, slack: number): string | null {
  let unknown = 0;
  for (const origin of cursor.keys()) if (!known.has(origin)) unknown++;
  return unknown <= slack ? null : `the cursor names ${unknown} origins this server has not heard of (at most ${slack}); poll from the cursor of a history reply`;
}

/**
 * The heap a held poll takes, estimated from its fields: measured under
 * Node 24 with polls held as the server holds them, ~460 bytes with a
 * one-entry cursor, plus 57 bytes per cursor entry of a one-letter origin
 * and 91 of a 14-letter one (an incarnation).
 */
export function heldBytes(w: Waiter): number {
  let n = 384 + 2 * (w.key.length + w.groupName.length + (w.label?.length ?? 0));
  for (const origin of w.cursor.keys()) n += 64 + 2 * origin.length;
  return n;
}

export class HeldPolls {
  #clock: Clock;
  #onDue: () => void;
  #byKey = new Map<string, Held>();
  #byRoom = new Map<string, Set<Held>>();
  #perSession = new Counts<string>();
  #bytesByIp = new Counts<string>();
  #bytes = 0;
  /** Min-heap by deadline; released polls stay until they reach the top (lazy deletion). */
  #heap: Held[] = [];
  #timer: { at: number; cancel: Cancel } | null = null;

  constructor(clock: Clock, onDue: () => void) {
    this.#clock = clock;
    this.#onDue = onDue;
  }

  get size(): number {
    return this.#byKey.size;
  }

  get(key: string): Held | undefined {
    return this.#byKey.get(key);
  }

  /** Polls held for one session. */
  heldFor(session: string): number {
    return this.#perSession.get(session);
  }

  /** Estimated heap bytes of the polls held for source address `ip` (`heldBytes` each). */
  bytesFor(ip: string): number {
    return this.#bytesByIp.get(ip);
  }

  /** Estimated heap bytes of every poll held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Holds `w`, sent from `to` (charged to `to.host`); a poll held under the same key is released. */
  hold(w: Waiter, to: Address): void {
    const old = this.#byKey.get(w.key);
    if (old) this.release(old);
    const h: Held = { ...w, to, ip: to.host, bytes: heldBytes(w) };
    this.#bytesByIp.add(h.ip, h.bytes);
    this.#bytes += h.bytes;
    this.#byKey.set(h.key, h);
    const rkey = nameKey(h.groupName);
    let set = this.#byRoom.get(rkey);
    if (!set) this.#byRoom.set(rkey, set = new Set());
    set.add(h);
    this.#perSession.add(h.session);
    this.#push(h);
    this.#arm();
  }

  /** The polls held in a room (a copy: release freely while iterating). */
  inRoom(rkey: string): Held[] {
    const set = this.#byRoom.get(rkey);
    return set ? [...set] : [];
  }

  release(h: Held): void {
    if (this.#byKey.get(h.key) !== h) return;
    this.#byKey.delete(h.key);
    const rkey = nameKey(h.groupName);
    const set = this.#byRoom.get(rkey);
    set?.delete(h);
    if (set?.size === 0) this.#byRoom.delete(rkey);
    this.#perSession.remove(h.session);
    this.#bytesByIp.remove(h.ip, h.bytes);
    this.#bytes -= h.bytes;
  }

  /** Releases and returns every poll whose deadline is at or before `now`, earliest first. */
  takeDue(now: number): Held[] {
    const due: Held[] = [];
    while (this.#heap.length > 0 && this.#heap[0].deadline <= now) {
      const h = this.#pop();
      if (this.#byKey.get(h.key) !== h) continue;
      this.release(h);
      due.push(h);
    }
    this.#arm();
    return due;
  }

  /** Forgets every poll and stops the timer. */
  clear(): void {
    this.#timer?.cancel();
    this.#timer = null;
    this.#byKey.clear();
    this.#byRoom.clear();
    this.#perSession.clear();
    this.#bytesByIp.clear();
    this.#bytes = 0;
    this.#heap = [];
  }

  /** Keeps one timer at the earliest live deadline. */
  #arm(): void {
    while (this.#heap.length > 0 && this.#byKey.get(this.#heap[0].key) !== this.#heap[0]) this.#pop();
    const next = this.#heap[0]?.deadline;
    if (this.#timer && this.#timer.at === next) return;
    this.#timer?.cancel();
    this.#timer = null;
    if (next === undefined) return;
    const cancel = this.#clock.after(Math.max(0, next - this.#clock.now()) + 1, () => {
      this.#timer = null;
      this.#onDue();
    });
    this.#timer = { at: next, cancel };
  }

  #push(h: Held): void {
    const heap = this.#heap;
    heap.push(h);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent].deadline <= heap[i].deadline) break;
      [heap[parent], heap[i]] = [heap[i], heap[parent]];
      i = parent;
    }
  }

  #pop(): Held {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop() as Held;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < heap.length && heap[l].deadline < heap[m].deadline) m = l;
        if (r < heap.length && heap[r].deadline < heap[m].deadline) m = r;
        if (m === i) break;
        [heap[m], heap[i]] = [heap[i], heap[m]];
        i = m;
      }
    }
    return top;
  }
}

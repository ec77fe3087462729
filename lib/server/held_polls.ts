/**
 * The long polls a server is holding (docs/PROTOCOL.md "request"): found by
 * their retransmission key, by room (to answer them when a message
 * arrives), and by deadline through a binary heap, so expiring the due ones
 * costs O(due · log held), never a scan of all of them. One timer, set for
 * the earliest deadline, calls `onDue`; the owner then takes the due polls
 * (`takeDue`) when it is ready to answer them.
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

/** A held poll and where its answer goes (the newest address it was retransmitted from). */
export type Held = Waiter & { to: Address };

export class HeldPolls {
  #clock: Clock;
  #onDue: () => void;
  #byKey = new Map<string, Held>();
  #byRoom = new Map<string, Set<Held>>();
  #perSession = new Counts<string>();
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

  hold(w: Waiter, to: Address): void {
    const old = this.#byKey.get(w.key);
    if (old) this.release(old);
    const h: Held = { ...w, to };
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

/**
 * One DistChat server, wired: client datagrams → codec → rate limit →
 * `Chat` handler inside the group-commit transaction → replies sent after
 * the commit; long polls held until a message arrives or they expire. It
 * never opens a socket: server.ts binds them and passes `send` in.
 *
 * Replication hooks: peer datagrams go to `replication.onPeerDatagram`;
 * ops made here reach `replication.onLocalOps` once committed; remote ops
 * are applied with `batch(() => store.applyRemote(op))`, which wakes polls.
 *
 * @example
 * ```ts
 * const app = new ServerApp({ store, chat, send: (b, to) => udp.send(b, to) });
 * const udp = await bindUdp(addr, app.onClientDatagram);
 * ```
 */
import { decodeRequest, encodeText, replyText } from "./codec.ts";
import type { Op } from "./messages.ts";
import type { Address } from "./servers_file.ts";
import { formatAddress } from "./servers_file.ts";
import type { Store } from "./store.ts";
import { nameKey } from "./store.ts";
import { Chat, type Waiter } from "./chat.ts";
import { RateLimiter } from "./chat/rate_limit.ts";
import { heapSlack, trimHeap } from "./chat/heap_trim.ts";

/** What replication plugs in (issue: replication is wired later). */
export type ReplicationHooks = {
  /** A datagram that arrived on the peer port. */
  onPeerDatagram(bytes: Uint8Array, from: Address): void;
  /** Ops made here, after they are committed, in order. */
  onLocalOps(ops: Op[]): void;
};

export type ServerAppOptions = {
  store: Store;
  chat: Chat;
  /** Sends one datagram to a client. */
  send(bytes: Uint8Array, to: Address): void;
  /** Requests per second per source address:port; 0 turns limiting off. Default 20000. */
  rateLimit?: number;
  now?: () => number;
  /** Called once when the database fails; must stop the process (default: throws). */
  onFatal?(message: string): void;
  /** One line of log (default: stderr). */
  log?(line: string): void;
  /** Returns a description of what is wrong with the database file, or null (lib/_store_guard.ts). */
  checkDatabase?(): string | null;
  /** Give idle heap back to the OS after a busy period (lib/chat/heap_trim.ts). Default true. */
  trimHeapWhenIdle?: boolean;
};

/** Largest group-commit batch, in requests, and longest wait for one, in ms. */
const MAX_BATCH = 1024;
const MAX_BATCH_MS = 2;

/** Idle check period, requests that make a period "busy", and heap slack worth trimming. */
const TRIM_CHECK_MS = 250;
const TRIM_AFTER_REQUESTS = 2000;
const TRIM_SLACK_BYTES = 24 << 20;

type Held = Waiter & { to: Address; timer: ReturnType<typeof setTimeout> };

/** True for errors raised by SQLite (node:sqlite), which mean the database failed. */
export function isDatabaseError(e: unknown): boolean {
  const err = e as { code?: string; errcode?: number };
  return typeof err?.code === "string" && err.code.startsWith("ERR_SQLITE") || typeof err?.errcode === "number";
}

export class ServerApp {
  readonly store: Store;
  readonly chat: Chat;
  replication: ReplicationHooks = { onPeerDatagram() {}, onLocalOps() {} };
  #send: (bytes: Uint8Array, to: Address) => void;
  #now: () => number;
  #limiter: RateLimiter;
  #onFatal: (message: string) => void;
  #log: (line: string) => void;
  #checkDatabase: () => string | null;
  #pending: { text: string; to: Address }[] = [];
  #afterCommit: (() => void)[] = [];
  #scheduled = false;
  /** Requests in the open batch, requests that arrived since the last look, and when the batch began. */
  #batchSize = 0;
  #arrived = 0;
  #batchStart = 0;
  /** Whether the open batch holds writes that must reach the disk before its replies go out. */
  #mustSync = false;
  #expired = false;
  #failed = false;
  #closed = false;
  #held = new Map<string, Held>();
  #heldByRoom = new Map<string, Set<Held>>();
  #housekeeping: ReturnType<typeof setInterval>;
  #watch: ReturnType<typeof setInterval>;
  #trim: ReturnType<typeof setInterval> | null = null;
  /** Client datagrams ever, at the last idle check, and since the last trim. */
  #datagrams = 0;
  #datagramsAtCheck = 0;
  #sinceTrim = 0;

  constructor(o: ServerAppOptions) {
    this.store = o.store;
    this.chat = o.chat;
    this.#send = o.send;
    this.#now = o.now ?? Date.now;
    this.#limiter = new RateLimiter(o.rateLimit ?? 20000);
    this.#log = o.log ?? ((line) => console.error(line));
    this.#onFatal = o.onFatal ?? ((m) => {
      throw new Error(m);
    });
    this.#checkDatabase = o.checkDatabase ?? (() => null);
    this.#housekeeping = setInterval(() => this.#tidy(), 30_000);
    this.#watch = setInterval(() => {
      const problem = this.#checkDatabase();
      if (problem) this.#fail(problem);
    }, 500);
    if (o.trimHeapWhenIdle ?? true) this.#trim = setInterval(() => this.#trimIfIdle(), TRIM_CHECK_MS);
  }

  /** After a busy period, once a check period passes without a client datagram, trims the heap. */
  #trimIfIdle(): void {
    const n = this.#datagrams - this.#datagramsAtCheck;
    this.#datagramsAtCheck = this.#datagrams;
    this.#sinceTrim += n;
    if (n > 0 || this.#sinceTrim < TRIM_AFTER_REQUESTS || this.#scheduled) return;
    this.#sinceTrim = 0;
    if (heapSlack() >= TRIM_SLACK_BYTES) trimHeap();
  }

  /** Handles one datagram from the client port. Bound: pass it as a callback. */
  onClientDatagram = (bytes: Uint8Array, from: Address): void => {
    if (this.#failed) return;
    this.#arrived++;
    this.#datagrams++;
    const now = this.#now();
    const decoded = decodeRequest(bytes);
    if (!decoded.ok) {
      const e = decoded.error;
      if (!e.silent) this.#sendNow(replyText({ verb: "error", tag: e.tag, code: e.code, message: e.message }), from);
      return;
    }
    const req = decoded.value;
    if (!this.#limiter.allow(formatAddress(from), now)) {
      this.#sendNow(replyText({ verb: "error", tag: req.tag, code: "rate-limited", message: "too many requests; slow down" }), from);
      return;
    }
    if (this.#closed) {
      this.#sendNow(replyText({ verb: "error", tag: req.tag, code: "unavailable", message: "server is shutting down" }), from);
      return;
    }
    if (req.verb === "request") {
      // A retransmitted long poll that is still held: answer once, to the newest address.
      const held = this.#held.get(Chat.key(req, from));
      if (held) {
        held.to = from;
        return;
      }
    }
    this.batch(() => {
      let outcome;
      try {
        outcome = this.chat.handle(req, from, now);
      } catch (e) {
        if (isDatabaseError(e)) throw e;
        this.#log(`internal error on ${req.verb} from ${formatAddress(from)}: ${(e as Error).stack ?? e}`);
        outcome = { text: replyText({ verb: "error", tag: req.tag, code: "internal", message: "internal server error" }) };
      }
      if ("text" in outcome) this.#pending.push({ text: outcome.text, to: from });
      else this.#hold(outcome.wait, from);
    });
  };

  /** Handles one datagram from the peer port (replication's). */
  onPeerDatagram = (bytes: Uint8Array, from: Address): void => {
    if (this.#failed || this.#closed) return;
    this.replication.onPeerDatagram(bytes, from);
  };

  /**
   * Runs `fn` inside the open transaction (opening it); the batch commits on
   * the next turn of the event loop, then replies go out, held polls of rooms
   * with new messages are answered and `afterCommit` callbacks run.
   * `durableElsewhere`: `fn` writes only ops already durable at their origin
   * (from peers), so a batch of nothing else commits without waiting for the
   * disk (Store.commit); any other write in the batch makes it wait.
   */
  batch(fn: () => void, afterCommit?: () => void, durableElsewhere = false): void {
    if (this.#failed) return;
    try {
      this.store.begin();
      fn();
    } catch (e) {
      this.#fail(`database write failed: ${(e as Error).message}`);
      return;
    }
    if (afterCommit) this.#afterCommit.push(afterCommit);
    if (!durableElsewhere) this.#mustSync = true;
    this.#batchSize++;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#arrived = 0;
    this.#batchStart = performance.now();
    setImmediate(this.#tick);
  }

  /**
   * Group commit: commits on the next turn of the event loop, unless that
   * turn brought more datagrams — then one more turn, so a busy server
   * commits (and fsyncs) once per many requests. A batch waits at most
   * MAX_BATCH_MS or MAX_BATCH requests.
   */
  #tick = (): void => {
    if (!this.#scheduled) return;
    if (
      this.#arrived > 0 && this.#batchSize < MAX_BATCH && performance.now() - this.#batchStart < MAX_BATCH_MS &&
      !this.#closed
    ) {
      this.#arrived = 0;
      setImmediate(this.#tick);
      return;
    }
    this.flush();
  };

  /** Commits the batch and sends what waited for it. Normally runs by itself. */
  flush(): void {
    this.#scheduled = false;
    this.#batchSize = 0;
    const sync = this.#mustSync;
    this.#mustSync = false;
    if (this.#failed) return;
    try {
      this.store.commit(sync);
    } catch (e) {
      this.#fail(`database commit failed: ${(e as Error).message}`);
      return;
    }
    const problem = this.#checkDatabase();
    if (problem) {
      this.#fail(problem);
      return;
    }
    const pending = this.#pending;
    this.#pending = [];
    for (const p of pending) this.#sendNow(p.text, p.to);
    this.#wake(this.store.takeDirtyRooms());
    if (this.#expired) this.#answerExpired();
    const ops = this.store.takeLocalOps();
    if (ops.length > 0) this.replication.onLocalOps(ops);
    const after = this.#afterCommit;
    this.#afterCommit = [];
    for (const cb of after) cb();
  }

  #sendNow(text: string, to: Address): void {
    this.#send(encodeText(text), to);
  }

  // --- Long polls --------------------------------------------------------------

  #hold(w: Waiter, to: Address): void {
    const held: Held = { ...w, to, timer: setTimeout(() => this.#onDeadline(), Math.max(0, w.deadline - this.#now()) + 1) };
    this.#held.set(w.key, held);
    const rkey = nameKey(w.groupName);
    let set = this.#heldByRoom.get(rkey);
    if (!set) this.#heldByRoom.set(rkey, set = new Set());
    set.add(held);
  }

  #release(h: Held): void {
    clearTimeout(h.timer);
    this.#held.delete(h.key);
    const rkey = nameKey(h.groupName);
    const set = this.#heldByRoom.get(rkey);
    set?.delete(h);
    if (set?.size === 0) this.#heldByRoom.delete(rkey);
  }

  /** Expired polls are answered after the next commit, so they never show uncommitted messages. */
  #onDeadline(): void {
    this.#expired = true;
    this.#schedule();
  }

  #answerExpired(): void {
    this.#expired = false;
    const now = this.#now();
    const due = [...this.#held.values()].filter((h) => h.deadline <= now);
    for (const h of due) this.#release(h);
    const texts = this.chat.pollMany(due, true);
    for (let i = 0; i < due.length; i++) this.#sendNow(texts[i] as string, due[i].to);
  }

  /**
   * Answers the held polls of rooms with new messages: one read of the
   * messages per distinct cursor (Chat.pollMany), then all the sends.
   */
  #wake(rooms: Set<string>): void {
    for (const rkey of rooms) {
      const set = this.#heldByRoom.get(rkey);
      if (!set) continue;
      const held = [...set];
      const texts = this.chat.pollMany(held, false);
      for (let i = 0; i < held.length; i++) {
        const text = texts[i];
        if (text === null) continue;
        this.#release(held[i]);
        this.#sendNow(text, held[i].to);
      }
    }
  }

  /** Number of long polls being held. */
  get heldPolls(): number {
    return this.#held.size;
  }

  // --- Housekeeping and failure ----------------------------------------------

  #tidy(): void {
    const now = this.#now();
    this.#limiter.prune(now);
    this.batch(() => {
      this.store.forgetIdle(now);
      this.store.pruneReplies(now - 3_600_000);
    });
  }

  #fail(problem: string): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#pending = [];
    this.#stopTimers();
    this.#onFatal(problem);
  }

  #stopTimers(): void {
    clearInterval(this.#housekeeping);
    clearInterval(this.#watch);
    if (this.#trim) clearInterval(this.#trim);
    for (const h of this.#held.values()) clearTimeout(h.timer);
  }

  /** Commits and answers what is pending, then closes the store. Held polls get no answer. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#failed) this.flush();
    this.#stopTimers();
    if (!this.#failed) this.store.close();
  }
}

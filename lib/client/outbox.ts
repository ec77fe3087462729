/**
 * The queue of messages a user typed and the server has not yet
 * acknowledged: sent one `add` at a time, in order, so a user's messages
 * keep their order; transient errors are retried with a growing pause.
 *
 * Each message gets its request tag when queued, and keeps it: resent after
 * a failover, or after a page reload (`restore`), it is the same request, so
 * the cluster stores it once (docs/PROTOCOL.md "Retransmission").
 *
 * @example
 * ```ts
 * const out = new Outbox({ send: (room, text, tag) => call(add(room, text), tag), newTag, ui, sleep, closed: () => false });
 * out.push("lobby", "hi");
 * await out.flush(5000); // true once acknowledged
 * ```
 */
import type { MsgId, Reply } from "../wire/messages.ts";
import { describeError } from "./wording.ts";

/** Errors after which the same request may succeed later. */
export const TRANSIENT = new Set(["rate-limited", "unavailable", "internal"]);

/**
 * A queued message as it can be kept and restored: the room, the text sent
 * (sealed or not), as typed, its tag, and (restored) the token it was first
 * sent with: tried first, so a line the cluster stored under it is not stored again.
 */
/** A message to send; `re`: the message it replies to. */
export type OutboxItem = { room: string; text: string; shown: string; tag: string; token?: string; re?: MsgId };

export type OutboxOptions = {
  /** Sends one add under `tag` (and first under `token`, when given); null when the session is closing. */
  send(room: string, text: string, tag: string, token?: string, re?: MsgId): Promise<Reply | null>;
  /** A fresh request tag. */
  newTag(): string;
  ui: {
    notice(text: string): void;
    error(text: string): void;
    /** A message is queued (`shown`: its text as the user typed it; `wire`: what is sent, to keep it). */
    pending?(id: number, room: string, shown: string, wire: { tag: string; text: string }): void;
    /** It was acknowledged as `msgId`, or given up (null). */
    settled?(id: number, msgId: MsgId | null): void;
  };
  sleep(ms: number): Promise<void>;
  closed(): boolean;
};

export class Outbox {
  #o: OutboxOptions;
  #queue: (OutboxItem & { id: number })[] = [];
  #ids = 0;
  #sending = false;
  #idle: (() => void)[] = [];

  constructor(o: OutboxOptions) {
    this.#o = o;
  }

  /** Messages queued and not yet acknowledged. */
  get size(): number {
    return this.#queue.length;
  }

  /** The messages not yet acknowledged, oldest first. */
  get items(): OutboxItem[] {
    return this.#queue.map(({ room, text, shown, tag, token, re }) => ({ room, text, shown, tag, token, ...(re ? { re } : {}) }));
  }

  /**
   * Queues `text` for `room` (`shown`: what the user typed, when `text` is
   * sealed; `tag` and `token`: an earlier run's); returns its id.
   */
  push(room: string, text: string, shown = text, tag = this.#o.newTag(), token?: string, re?: MsgId): number {
    const id = ++this.#ids;
    this.#queue.push({ id, room, text, shown, tag, token, ...(re ? { re } : {}) });
    this.#o.ui.pending?.(id, room, shown, { tag, text });
    void this.#pump();
    return id;
  }

  /** Resolves true once every queued message is acknowledged, false after `ms`. */
  flush(ms: number): Promise<boolean> {
    if (this.#queue.length === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.#idle.push(() => {
        clearTimeout(timer);
        resolve(this.#queue.length === 0);
      });
    });
  }

  async #pump(): Promise<void> {
    if (this.#sending) return;
    this.#sending = true;
    const { ui } = this.#o;
    let failures = 0;
    while (this.#queue.length > 0 && !this.#o.closed()) {
      const m = this.#queue[0];
      const reply = await this.#o.send(m.room, m.text, m.tag, m.token, m.re);
      if (reply === null) break;
      if (reply.verb === "error" && TRANSIENT.has(reply.code) && failures < 8) {
        if (failures === 0) ui.notice(`message to ${m.room} delayed: ${describeError(reply.code, reply.message)}; retrying`);
        await this.#o.sleep(Math.min(500 * 2 ** failures++, 10000));
        continue;
      }
      if (reply.verb === "error") ui.error(`message to ${m.room} not sent: ${describeError(reply.code, reply.message)}`);
      failures = 0;
      this.#queue.shift();
      ui.settled?.(m.id, reply.verb === "ok" && reply.kind === "add" ? reply.msgId : null);
    }
    this.#sending = false;
    for (const wake of this.#idle.splice(0)) wake();
  }
}

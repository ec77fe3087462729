/**
 * The client port: datagrams from clients → codec → rate limit → answered
 * before? (lib/server/answers.ts) → `Chat` inside the group commit → reply
 * bytes sent after the commit. Long polls are held (lib/server/held_polls.ts)
 * until a commit brings their room a message or their deadline passes.
 * It sits on the group commit beside the peer port and never calls it; a
 * web transport would be a third sibling, handing datagrams to `receive`
 * with its own `send`.
 *
 * @example
 * ```ts
 * const port = new ClientPort({ commit, chat, answers, clock, send: (b, to) => udp.send(b, to) });
 * const udp = await bindServerTransport(addr, port.onDatagram);
 * ```
 */
import { decodeRequest, encodeReply, encodeText, replyText } from "../wire/codec.ts";
import type { Reply, Request } from "../wire/messages.ts";
import type { Address } from "../net/address.ts";
import { formatAddress } from "../net/address.ts";
import type { Clock } from "./clock.ts";
import type { Committed, GroupCommit } from "./commit.ts";
import type { Chat } from "./chat.ts";
import { Answers } from "./answers.ts";
import { type Held, HeldPolls } from "./held_polls.ts";
import { RateLimiter } from "./rate_limit.ts";
import type { AckGate } from "./ack_gate.ts";
import { sessionId } from "./chat.ts";

export type ClientPortOptions = {
  commit: GroupCommit;
  chat: Chat;
  answers: Answers;
  clock: Clock;
  /** Sends one datagram to a client. */
  send(bytes: Uint8Array, to: Address): void;
  /** Requests per second per source address:port; 0 turns limiting off. Default 20000. */
  rateLimit?: number;
  /** One line of log (default: stderr). */
  log?(line: string): void;
  /** Holds add acks until the message is on a second disk; absent: acks after the local commit. */
  gate?: AckGate;
};

/** True for errors raised by SQLite (node:sqlite), which mean the database failed. */
export function isDatabaseError(e: unknown): boolean {
  const err = e as { code?: string; errcode?: number };
  return typeof err?.code === "string" && err.code.startsWith("ERR_SQLITE") || typeof err?.errcode === "number";
}

export class ClientPort {
  readonly limiter: RateLimiter;
  #o: ClientPortOptions;
  #polls: HeldPolls;
  #log: (line: string) => void;

  constructor(o: ClientPortOptions) {
    this.#o = o;
    this.limiter = new RateLimiter(o.rateLimit ?? 20000);
    this.#log = o.log ?? ((line) => console.error(line));
    // Expired polls are answered after the next commit, so they never show uncommitted messages.
    this.#polls = new HeldPolls(o.clock, () => o.commit.afterNextCommit(() => this.#answerDue()));
    o.commit.subscribe((c) => this.#onCommit(c));
  }

  /** Number of long polls being held. */
  get heldPolls(): number {
    return this.#polls.size;
  }

  /** Handles one datagram from a client. Bound: pass it as a callback. */
  onDatagram = (bytes: Uint8Array, from: Address): void => {
    const { commit } = this.#o;
    if (commit.failed) return;
    commit.noteArrival();
    const decoded = decodeRequest(bytes);
    if (!decoded.ok) {
      const e = decoded.error;
      if (!e.silent) this.#send({ verb: "error", tag: e.tag, code: e.code, message: e.message }, from);
      return;
    }
    const req = decoded.value;
    const now = this.#o.clock.now();
    if (!this.limiter.allow(formatAddress(from), now)) {
      this.#send({ verb: "error", tag: req.tag, code: "rate-limited", message: "too many requests; slow down" }, from);
      return;
    }
    if (commit.closed) {
      this.#send({ verb: "error", tag: req.tag, code: "unavailable", message: "server is shutting down" }, from);
      return;
    }
    const key = Answers.key(req, from);
    if (req.verb === "request") {
      // A retransmitted long poll that is still held: answer once, to the newest address.
      const held = this.#polls.get(key);
      if (held) {
        held.to = from;
        return;
      }
    }
    let text: string | null = null;
    commit.batch(() => (text = this.#answer(req, key, from, now)), {
      after: () => text !== null && this.#o.send(encodeText(text), from),
    });
  };

  /** The reply text (remembered for retransmissions), or null when the poll is held. */
  #answer(req: Request, key: string, from: Address, now: number): string | null {
    const { answers, chat } = this.#o;
    const seen = answers.lookup(req, key, now);
    if (seen !== null) return seen;
    let reply: Reply;
    try {
      const outcome = chat.handle(req, now, key);
      if ("wait" in outcome) {
        this.#polls.hold(outcome.wait, from);
        return null;
      }
      reply = outcome.reply;
    } catch (e) {
      if (isDatabaseError(e)) throw e;
      this.#log(`internal error on ${req.verb} from ${formatAddress(from)}: ${(e as Error).stack ?? e}`);
      return replyText({ verb: "error", tag: req.tag, code: "internal", message: "internal server error" });
    }
    const text = replyText(reply);
    const gate = this.#o.gate;
    if (gate && req.verb === "add" && reply.verb === "ok") {
      gate.hold(key, sessionId(req.token), req.tag, (acked) => this.#release(req, key, acked, from));
      return null;
    }
    answers.remember(req, key, text, reply.verb !== "error", now);
    return text;
  }

  /** Sends an ack the gate released, remembered for retransmissions like any reply. */
  #release(req: Request, key: string, text: string, to: Address): void {
    const { commit, answers, clock } = this.#o;
    commit.batch(() => answers.remember(req, key, text, true, clock.now()), {
      after: () => this.#o.send(encodeText(text), to),
      durableElsewhere: true, // a lost saved reply is rebuilt from the message itself
    });
  }

  #send(reply: Reply, to: Address): void {
    this.#o.send(encodeReply(reply), to);
  }

  /** Answers the held polls of rooms with new messages: one read per distinct cursor, then all the sends. */
  #onCommit(c: Committed): void {
    for (const rkey of c.rooms) {
      const held = this.#polls.inRoom(rkey);
      if (held.length > 0) this.#answerPolls(held, false);
    }
  }

  #answerDue(): void {
    this.#answerPolls(this.#polls.takeDue(this.#o.clock.now()), true);
  }

  #answerPolls(held: Held[], orEmpty: boolean): void {
    const replies = this.#o.chat.pollMany(held, orEmpty);
    for (let i = 0; i < held.length; i++) {
      const reply = replies[i];
      if (reply === null) continue;
      const h = held[i];
      this.#polls.release(h);
      const text = replyText(reply);
      this.#o.answers.rememberPoll(h.key, text);
      this.#o.send(encodeText(text), h.to);
    }
  }

  /** Forgets held polls (they get no answer) and stops their timer. */
  close(): void {
    this.#polls.clear();
  }
}

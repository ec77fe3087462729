/**
 * The client port: datagrams from clients → codec → rate limit → answered
 * before? (lib/server/answers.ts) → `Chat` inside the group commit → reply
 * bytes sent after the commit. Long polls are held (lib/server/held_polls.ts)
 * until a commit brings their room a message or their deadline passes.
 * It sits on the group commit beside the peer port and never calls it; the
 * web port (lib/server/web_port.ts) is a third sibling that hands it the
 * datagrams of web pages, WebSocket messages and HTTP requests
 * (`onDatagram(bytes, from, true)`: a TCP peer's address is proven by its
 * handshake), and gets their replies through `send`.
 *
 * @example
 * ```ts
 * const port = new ClientPort({ commit, chat, answers, clock, send: (b, to) => udp.send(b, to) });
 * const udp = await bindServerTransport(addr, port.onDatagram);
 * ```
 */
import { decodeRequest, encodeText, replyText } from "../wire/codec.ts";
import { roomOfNoticeKey } from "../store/store.ts";
import { type ErrorCode, type Reply, type Request, tokenOf } from "../wire/messages.ts";
import type { Address } from "../net/address.ts";
import { formatAddress } from "../net/address.ts";
import type { Clock } from "./clock.ts";
import type { GroupCommit } from "./commit.ts";
import type { Chat } from "./chat.ts";
import { Answers } from "./answers.ts";
import { cursorProblem, DEFAULT_HELD_POLL_LIMITS as HELD, type Held, heldBytes, HeldPolls, UNHEARD_ORIGINS, type Waiter } from "./held_polls.ts";
import { DEFAULT_RATE_LIMIT, RateLimiter } from "./rate_limit.ts";
import type { AckGate } from "./ack_gate.ts";
import { type Quotas, WRITING_VERBS } from "./quotas.ts";
import { AddressBudget, replyBudget } from "./address_budget.ts";
import { sessionId } from "./chat.ts";
import type { ServerMetrics } from "./metrics.ts";

export type ClientPortOptions = {
  commit: GroupCommit;
  chat: Chat;
  answers: Answers;
  clock: Clock;
  /** Sends one datagram to a client. */
  send(bytes: Uint8Array, to: Address): void;
  /** Requests per second per source IP address; 0 turns every request-rate limit off. Default DEFAULT_RATE_LIMIT. */
  rateLimit?: number;
  /** Requests per second per session (token); 0 turns it off. Default 500. */
  sessionRate?: number;
  /** Long polls one session may have held at once; more get `rate-limited`. Default 64 (DEFAULT_HELD_POLL_LIMITS). */
  maxHeldPerSession?: number;
  /** Estimated heap bytes (lib/server/held_polls.ts `heldBytes`) of the polls held for one source IP address; past it `rate-limited`. Default 8 MiB. */
  maxHeldBytesPerIp?: number;
  /** The same for every poll held. Default 128 MiB. */
  maxHeldBytes?: number;
  /** Origins a poll's cursor may name that this server has not heard of; more are `bad-request`. Default UNHEARD_ORIGINS (server.ts adds the servers of servers.txt). */
  cursorSlack?: number;
  /** Per-address and per-session quotas (lib/server/quotas.ts); absent: none. */
  quotas?: Quotas;
  /** True while the database's disk is below its free-space floor: every request that writes gets `unavailable` (WRITING_VERBS). */
  diskLow?: () => boolean;

  /** One line of log (default: stderr). */
  log?(line: string): void;
  /** Holds add acks until the message is on a second disk; absent: acks after the local commit. */
  gate?: AckGate;
  /** Counts requests, errors and ack latencies for /metrics. */
  metrics?: ServerMetrics;
};

/** True for errors raised by SQLite (node:sqlite), which mean the database failed. */
export function isDatabaseError(e: unknown): boolean {
  const err = e as { code?: string; errcode?: number };
  return typeof err?.code === "string" && err.code.startsWith("ERR_SQLITE") || typeof err?.errcode === "number";
}

/** An error reply cut to `budget` bytes (its message shortened; never below the bare error lines). */
export function shortError(tag: string, code: ErrorCode, message: string, budget: number): Reply {
  const bare = replyText({ verb: "error", tag, code, message: "" }).length;
  return { verb: "error", tag, code, message: message.slice(0, Math.max(0, budget - bare)) };
}

const kib = (bytes: number) => Math.floor(bytes / 1024);

export class ClientPort {
  /** Requests per second per source IP. */
  readonly limiter: RateLimiter;
  /** Requests per second per session. */
  readonly sessionLimiter: RateLimiter;
  /** What each source address may be sent (no amplifier: lib/server/address_budget.ts). */
  readonly budget = new AddressBudget();
  /** Sources told `rate-limited` in the last second (told once a second at most: the refusal is not an amplifier). */
  #toldLimited = new Map<string, number>();
  #o: ClientPortOptions;
  #polls: HeldPolls;
  #log: (line: string) => void;

  constructor(o: ClientPortOptions) {
    this.#o = o;
    const rate = o.rateLimit ?? DEFAULT_RATE_LIMIT;
    this.limiter = new RateLimiter(rate);
    this.sessionLimiter = new RateLimiter(rate <= 0 ? 0 : o.sessionRate ?? 500);
    this.#log = o.log ?? ((line) => console.error(line));
    // Expired polls are answered after the next commit, so they never show uncommitted messages.
    this.#polls = new HeldPolls(o.clock, () => o.commit.afterNextCommit(() => this.#answerDue()));
    o.commit.subscribe((c) => this.#wake(c.rooms));
    o.commit.onShown((rooms) => this.#wake(rooms));
  }

  /** Number of long polls being held. */
  get heldPolls(): number {
    return this.#polls.size;
  }

  /** Handles one datagram from a client. Bound: pass it as a callback. */
  onDatagram = (bytes: Uint8Array, from: Address, proven = false): void => {
    const { commit } = this.#o;
    if (commit.failed) return;
    commit.noteArrival();
    const now = this.#o.clock.now();
    const start = this.#o.clock.monotonic();
    const addr = formatAddress(from);
    if (proven) this.budget.prove(addr);
    else this.budget.received(addr, bytes.length);
    // The limit comes before decoding: garbage costs a flooder its budget too.
    const limited = !this.limiter.allow(from.host, now);
    // Past the limit and told so this second: dropped unread (decoding is half of what a dropped datagram costs).
    if (limited && this.#toldWithinSecond(addr, now)) return;
    const decoded = decodeRequest(bytes);
    if (!decoded.ok) {
      const e = decoded.error;
      if (!e.silent && !limited) this.#send(shortError(e.tag, e.code, e.message, replyBudget(bytes.length)), from);
      return;
    }
    const req = decoded.value;
    this.#o.metrics?.request(req.verb);
    const token = tokenOf(req);
    if (limited || (token !== null && !this.sessionLimiter.allow(sessionId(token), now))) {
      this.#refuseRate(req.tag, from, now);
      return;
    }
    if (token !== null) this.budget.present(sessionId(token), addr);
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
    commit.batch(() => (text = this.#answer(req, key, from, addr, now, start)), {
      after: () => {
        if (text === null) return;
        this.#sendText(text, from);
        if (req.verb === "add") this.#acked(text, start);
      },
    });
  };

  /** The reply text (remembered for retransmissions), or null when the poll is held. */
  #answer(req: Request, key: string, from: Address, addr: string, now: number, start: number): string | null {
    const { answers, chat } = this.#o;
    const seen = answers.lookup(req, key, now);
    if (seen !== null) return seen;
    const token = tokenOf(req);
    const session = token === null ? "" : sessionId(token);
    // A resend of an add already stored (or held for its ack) is not new: no quota, no floor.
    const resent = req.verb === "add" && this.#o.gate?.holds(key) === true;
    const refused = resent ? null : this.#refusal(req, from, session, now);
    if (refused !== null && !(req.verb === "add" && chat.store.messages.byTag(session, req.tag) !== null)) return refused;
    let reply: Reply;
    const changes = chat.store.changes;
    try {
      const outcome = chat.handle(req, now, key, this.budget.room(addr), from.host);
      if ("wait" in outcome) {
        // Not remembered: once a held poll is answered, a resend may be held.
        const why = this.#mayHold(outcome.wait, from.host);
        if (why === null) {
          this.#polls.hold(outcome.wait, from);
          return null;
        }
        return replyText({ verb: "error", tag: req.tag, code: "rate-limited", message: why });
      }
      reply = outcome.reply;
    } catch (e) {
      if (isDatabaseError(e)) throw e;
      this.#log(`internal error on ${req.verb} from ${formatAddress(from)}: ${(e as Error).stack ?? e}`);
      return replyText({ verb: "error", tag: req.tag, code: "internal", message: "internal server error" });
    }
    const text = replyText(reply);
    const changed = chat.store.changes !== changes;
    if (reply.verb === "ok" && reply.kind === "login") this.budget.noteLogin(sessionId(reply.token), addr);
    if (!resent && reply.verb === "ok") {
      this.#o.quotas?.note(req, from.host, reply.kind === "login" ? sessionId(reply.token) : session, now, changed);
    }
    const gate = this.#o.gate;
    if (gate && req.verb === "add" && reply.verb === "ok") {
      gate.hold(key, session, req.tag, (acked) => this.#release(req, key, acked, from, start), reply.kind === "add" ? reply.groupName : undefined);
      return null;
    }
    answers.remember(req, key, text, reply.verb !== "error", now, changed);
    return text;
  }

  /** Why poll `w` from `ip` may not be held now (past a per-session or memory budget), or null. */
  #mayHold(w: Waiter, ip: string): string | null {
    const max = this.#o.maxHeldPerSession ?? HELD.heldPollsPerSession;
    if (this.#polls.heldFor(w.session) >= max) return `more than ${max} long polls held for this session`;
    const bytes = heldBytes(w);
    const perIp = this.#o.maxHeldBytesPerIp ?? HELD.heldPollKibPerIp * 1024;
    if (this.#polls.bytesFor(ip) + bytes > perIp) return `long polls held for this address take ${kib(perIp)} KiB of memory already; poll fewer rooms at once`;
    const all = this.#o.maxHeldBytes ?? HELD.heldPollKib * 1024;
    if (this.#polls.bytes + bytes > all) return `this server holds ${kib(all)} KiB of long polls already; try again later or another server`;
    return null;
  }

  /** The error text refusing a request over a quota, below the disk floor, or with a cursor too long (never remembered: it may pass later), or null. */
  #refusal(req: Request, from: Address, session: string, now: number): string | null {
    if (WRITING_VERBS.has(req.verb) && this.#o.diskLow?.()) {
      return replyText({ verb: "error", tag: req.tag, code: "unavailable", message: "this server's disk is nearly full; try another server" });
    }
    if (req.verb === "request") {
      const bad = cursorProblem(req.cursor, this.#o.chat.store.vector(), this.#o.cursorSlack ?? UNHEARD_ORIGINS);
      if (bad !== null) return replyText({ verb: "error", tag: req.tag, code: "bad-request", message: bad });
    }
    const why = this.#o.quotas?.refusal(req, from.host, session, now) ?? null;
    return why === null ? null : replyText({ verb: "error", tag: req.tag, code: "rate-limited", message: why });
  }

  /** Sends an ack the gate released, remembered for retransmissions like any reply. */
  #release(req: Request, key: string, text: string, to: Address, start: number): void {
    const { commit, answers, clock } = this.#o;
    commit.batch(() => answers.remember(req, key, text, true, clock.now()), {
      after: () => {
        this.#sendText(text, to);
        this.#acked(text, start);
      },
      durableElsewhere: true, // a lost saved reply is rebuilt from the message itself
    });
  }

  /** True when `addr` (address:port) was told `rate-limited` less than a second ago. */
  #toldWithinSecond(addr: string, now: number): boolean {
    const last = this.#toldLimited.get(addr);
    return last !== undefined && now - last < 1000;
  }

  /** `rate-limited`, at most once a second per source address (further ones are dropped). */
  #refuseRate(tag: string, to: Address, now: number): void {
    const k = formatAddress(to);
    if (this.#toldWithinSecond(k, now)) return;
    if (this.#toldLimited.size > 10_000) {
      for (const [a, t] of this.#toldLimited) if (now - t >= 1000) this.#toldLimited.delete(a);
    }
    this.#toldLimited.set(k, now);
    this.#send({ verb: "error", tag, code: "rate-limited", message: "too many requests; slow down" }, to);
  }

  /** An add's reply went out: an ok is an ack, timed from the request's arrival. */
  #acked(text: string, start: number): void {
    if (text.startsWith("ok\n")) this.#o.metrics?.ackLatency((this.#o.clock.monotonic() - start) / 1000);
  }

  #send(reply: Reply, to: Address): void {
    this.#sendText(replyText(reply), to);
  }

  /** Every reply leaves here: within the budget of an unproven address, or not at all (lib/server/address_budget.ts). */
  #sendText(text: string, to: Address): void {
    const bytes = encodeText(text);
    if (!this.budget.sent(formatAddress(to), bytes.length)) return;
    if (text.startsWith("error\n")) this.#o.metrics?.error(text.split("\n", 3)[2]);
    this.#o.send(bytes, to);
  }

  /** Answers the held polls of rooms with new messages: one read per distinct cursor, then all the sends. */
  #wake(rooms: Set<string>): void {
    for (const key of rooms) {
      const noticesOf = roomOfNoticeKey(key);
      if (noticesOf !== null && rooms.has(noticesOf)) continue; // a message woke them all
      let held = this.#polls.inRoom(noticesOf ?? key);
      if (noticesOf !== null) held = held.filter((h) => h.notices === true);
      if (held.length > 0) this.#answerPolls(held, false);
    }
  }

  #answerDue(): void {
    this.#answerPolls(this.#polls.takeDue(this.#o.clock.now()), true);
  }

  #answerPolls(held: Held[], orEmpty: boolean): void {
    // What each address may get now (it may have changed while the poll was held).
    for (const h of held) h.maxBytes = this.budget.room(formatAddress(h.to));
    const replies = this.#o.chat.pollMany(held, orEmpty);
    for (let i = 0; i < held.length; i++) {
      const reply = replies[i];
      if (reply === null) continue;
      const h = held[i];
      this.#polls.release(h);
      const text = replyText(reply);
      this.#o.answers.rememberPoll(h.key, text);
      this.#sendText(text, h.to);
    }
  }

  /** Forgets held polls (they get no answer) and stops their timer. */
  close(): void {
    this.#polls.clear();
  }
}

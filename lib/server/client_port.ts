/**
 * The client port: datagrams from clients → rate limit → codec → answered
 * before? (lib/server/answers.ts) → the verb's handler (lib/handlers/)
 * inside the group commit → the reply, encoded once, sent after the commit
 * through the channel the request came in on (lib/server/channel.ts: UDP,
 * the web listener's WebSocket or HTTP transport). Long polls are held
 * (lib/server/held_polls.ts) until a commit brings their room a message or
 * their deadline passes; adds, with two-disk acks, until the gate releases
 * them (lib/server/ack_gate.ts). It sits on the group commit beside the peer
 * port and never calls it. Replies are values until they are sent: the port
 * keeps each reply's text beside what it was (`Answer`), never reads text.
 *
 * @example
 * ```ts
 * const port = new ClientPort({ commit, handlers, store, answers, clock });
 * const udp = await bindServerTransport(addr, (bytes, from) => port.onDatagram(bytes, from, channel));
 * ```
 */
import type { Log } from "../config/log.ts";
import { decodeReply, decodeRequest, encodeText, replyText } from "../wire/codec.ts";
import type { Dirty, Store } from "../store/store.ts";
import { type ErrorCode, type Reply, type Request, tokenOf } from "../wire/messages.ts";
import type { Address } from "../wire/address.ts";
import { formatAddress } from "../wire/address.ts";
import { sessionId } from "../rules/session_id.ts";
import { handle, type HandlerDeps, pollMany, type Waiter } from "../handlers/index.ts";
import type { AddedCopy } from "../handlers/context.ts";
import { DEFAULT_HELD_POLL_LIMITS as HELD, DEFAULT_RATE_LIMIT, DEFAULT_SESSION_RATE } from "../config/limits.ts";
import type { Clock } from "./clock.ts";
import type { GroupCommit } from "./commit.ts";
import { type Answer, answerOf, Answers } from "./answers.ts";
import { cursorProblem, type Held, heldBytes, HeldPolls, UNHEARD_ORIGINS } from "./held_polls.ts";
import { RateLimiter } from "./rate_limit.ts";
import type { AckGate } from "./ack_gate.ts";
import { type Quotas, WRITING_VERBS } from "./quotas.ts";
import { AddressBudget, replyBudget } from "./address_budget.ts";
import type { ServerMetrics } from "./metrics.ts";
import { type ClientChannel, sourceKey } from "./channel.ts";

export type ClientPortOptions = {
  commit: GroupCommit;
  /** What the handlers are given (lib/handlers/context.ts). */
  handlers: HandlerDeps;
  /** What the port itself reads of the store: whether a request changed anything, the vector (cursors), stored adds (resends). */
  store: Pick<Store, "changes" | "vector" | "messages">;
  answers: Answers;
  clock: Clock;
  /** Requests per second per source IP address; 0 turns every request-rate limit off. Default DEFAULT_RATE_LIMIT. */
  rateLimit?: number;
  /** Requests per second per session (token); 0 turns it off. Default DEFAULT_SESSION_RATE. */
  sessionRate?: number;
  /** Long polls one session may have held at once; more get `rate-limited`. Default 64 (DEFAULT_HELD_POLL_LIMITS). */
  maxHeldPerSession?: number;
  /** Estimated heap bytes (lib/server/held_polls.ts `heldBytes`) of the polls held for one source IP address; past it `rate-limited`. Default 8 MiB. */
  maxHeldBytesPerIp?: number;
  /** The same for every poll held. Default 128 MiB. */
  maxHeldBytes?: number;
  /** Origins a poll's cursor may name that this server has not heard of; more are `bad-request`. Default UNHEARD_ORIGINS (the node adds the servers of servers.txt). */
  cursorSlack?: number;
  /** Per-address and per-session quotas (lib/server/quotas.ts); absent: none. */
  quotas?: Quotas;
  /** True while the database's disk is below its free-space floor: every request that writes gets `unavailable` (WRITING_VERBS). */
  diskLow?: () => boolean;
  /** Why this server takes no writes now (catching up after `--join`, being retired), or null: every request that writes gets `unavailable` with it. */
  writesRefused?: () => string | null;
  /** Logs one event (lib/config/log.ts; default: stderr). */
  log?: Log;
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
const error = (tag: string, code: ErrorCode, message: string): Answer => answerOf({ verb: "error", tag, code, message });

/** One request on its way: where it came from, its session id, retransmission key, and when it arrived. */
type Arrival = { req: Request; from: Address; via: ClientChannel; source: string; session: string; key: string; now: number; start: number };

export class ClientPort {
  /** Requests per second per source IP. */
  readonly limiter: RateLimiter;
  /** Requests per second per session. */
  readonly sessionLimiter: RateLimiter;
  /** What each source may be sent (no amplifier: lib/server/address_budget.ts). */
  readonly budget = new AddressBudget();
  /** Sources told `rate-limited` in the last second (told once a second at most: the refusal is not an amplifier). */
  #toldLimited = new Map<string, number>();
  #o: ClientPortOptions;
  #polls: HeldPolls;
  #log: Log;

  constructor(o: ClientPortOptions) {
    this.#o = o;
    const rate = o.rateLimit ?? DEFAULT_RATE_LIMIT;
    this.limiter = new RateLimiter(rate);
    this.sessionLimiter = new RateLimiter(rate <= 0 ? 0 : o.sessionRate ?? DEFAULT_SESSION_RATE);
    this.#log = o.log ?? ((line) => console.error(line));
    // Expired polls are answered after the next commit, so they never show uncommitted messages.
    this.#polls = new HeldPolls(o.clock, () => o.commit.afterNextCommit(() => this.#answerDue()));
    o.commit.subscribe((c) => this.#wake(c));
    o.commit.onShown((dirty) => this.#wake(dirty));
  }

  /** Number of long polls being held. */
  get heldPolls(): number {
    return this.#polls.size;
  }

  /** Handles one datagram from a client, which came in on `via`. */
  onDatagram(bytes: Uint8Array, from: Address, via: ClientChannel): void {
    const { commit } = this.#o;
    if (commit.failed) return;
    const now = this.#o.clock.now();
    const start = this.#o.clock.monotonic();
    const source = sourceKey(via, from);
    if (via.proven) this.budget.prove(source);
    else this.budget.received(source, bytes.length);
    // The limit comes before decoding: garbage costs a flooder its budget too.
    const limited = !this.limiter.allow(from.host, now);
    // Past the limit and told so this second: dropped unread (decoding is half of what a dropped datagram costs).
    if (limited && this.#toldWithinSecond(source, now)) return;
    const decoded = decodeRequest(bytes);
    if (!decoded.ok) {
      const e = decoded.error;
      if (!e.silent && !limited) this.#send(answerOf(shortError(e.tag, e.code, e.message, replyBudget(bytes.length))), e.tag, from, via);
      return;
    }
    const req = decoded.value;
    this.#o.metrics?.request(req.verb);
    const token = tokenOf(req);
    const session = token === null ? "" : sessionId(token);
    if (limited || (token !== null && !this.sessionLimiter.allow(session, now))) {
      const over = limited ? `from this address (${this.limiter.rate} a second)` : `in this session (${this.sessionLimiter.rate} a second)`;
      this.#refuseRate(req.tag, from, via, source, now, over);
      return;
    }
    if (token !== null) this.budget.present(session, source);
    if (commit.closed) {
      this.#send(error(req.tag, "unavailable", "server is shutting down"), req.tag, from, via);
      return;
    }
    const key = Answers.key(req, from, session, via);
    if (req.verb === "request") {
      // A retransmitted long poll that is still held: answer once, to the newest address.
      const held = this.#polls.get(key);
      if (held) {
        held.to = from;
        held.via = via;
        return;
      }
    }
    const a: Arrival = { req, from, via, source, session, key, now, start };
    let answer: Answer | null = null;
    // Only a request that joins the batch keeps it open: refused or malformed datagrams (a flood) do not delay others' acks.
    commit.noteArrival();
    commit.batch(() => (answer = this.#answer(a)), {
      after: () => {
        if (answer === null) return;
        this.#send(answer, req.tag, from, via, source);
        if (req.verb === "add") this.#acked(answer, start);
      },
    });
  }

  /** One short `bad-request` saying `message` to a datagram this server does not serve (within the 3x budget), nothing else. */
  refuse(bytes: Uint8Array, from: Address, via: ClientChannel, message: string): void {
    const source = sourceKey(via, from);
    this.budget.received(source, bytes.length);
    const decoded = decodeRequest(bytes);
    if (!decoded.ok && decoded.error.silent) return;
    const tag = decoded.ok ? decoded.value.tag : decoded.error.tag;
    this.#send(answerOf(shortError(tag, "bad-request", message, replyBudget(bytes.length))), tag, from, via);
  }

  /** The answer (remembered for retransmissions), or null when it is held (a long poll, an add's ack). */
  #answer(a: Arrival): Answer | null {
    const { req, from, session, key, now } = a;
    const { answers, store } = this.#o;
    const seen = answers.find(req, key, now);
    if (seen !== null && !this.#overturned(req, session, seen)) return seen;
    // A resend of an add already stored (or held for its ack) is not new: no quota, no floor.
    const resent = req.verb === "add" && this.#o.gate?.holds(key) === true;
    const refused = resent ? null : this.#refusal(req, from, session, now);
    if (refused !== null && !(req.verb === "add" && store.messages.byTag(session, req.tag) !== null)) return refused;
    let reply: Reply;
    let copy: AddedCopy | undefined;
    const changes = store.changes;
    try {
      const outcome = handle(this.#o.handlers, req, { now, key, session, max: this.budget.room(a.source), source: from.host });
      if ("wait" in outcome) return this.#hold(outcome.wait, a);
      ({ reply, copy } = outcome);
    } catch (e) {
      if (isDatabaseError(e)) throw e;
      this.#log(`internal error on ${req.verb} from ${formatAddress(from)}: ${(e as Error).stack ?? e}`, { level: "error", event: "internal-error", fields: { verb: req.verb } });
      return error(req.tag, "internal", "internal server error");
    }
    const changed = store.changes !== changes;
    if (reply.verb === "ok") {
      const mine = reply.kind === "login" ? sessionId(reply.token) : session;
      if (reply.kind === "login") this.budget.noteLogin(mine, a.source);
      if (!resent) this.#o.quotas?.note(req, from.host, mine, now, changed);
    }
    const gate = this.#o.gate;
    if (gate && reply.verb === "ok" && reply.kind === "add" && copy) {
      gate.hold(key, { session, tag: req.tag, copy, groupName: reply.groupName }, (acked) => this.#release(a, acked));
      return null;
    }
    const answer = answerOf(reply);
    answers.remember(req, key, answer, now, changed);
    return answer;
  }

  /**
   * Whether `seen`, an add's remembered ack, names a copy that is no longer
   * the visible one of its (session, tag): a stand-in ack that the confirmer,
   * back without the copy, overturned (docs/ARCHITECTURE.md "A confirmer that
   * dies"). The resend is then answered afresh, with the copy every server lists.
   */
  #overturned(req: Request, session: string, seen: Answer): boolean {
    if (req.verb !== "add" || seen.error !== null) return false;
    const visible = this.#o.store.messages.byTag(session, req.tag);
    if (visible === null) return false;
    const r = decodeReply(encodeText(seen.text));
    return r.ok && r.value.verb === "ok" && r.value.kind === "add" && (r.value.msgId.origin !== visible.origin || r.value.msgId.n !== visible.seq);
  }

  /** Holds poll `w` (null), or the refusal when it may not be held: past a per-session or memory budget. Not remembered: once a held poll is answered, a resend may be held. */
  #hold(w: Waiter, a: Arrival): Answer | null {
    const ip = a.from.host;
    const max = this.#o.maxHeldPerSession ?? HELD.heldPollsPerSession;
    const perIp = this.#o.maxHeldBytesPerIp ?? HELD.heldPollKibPerIp * 1024;
    const all = this.#o.maxHeldBytes ?? HELD.heldPollKib * 1024;
    const bytes = heldBytes(w);
    const why = this.#polls.heldFor(w.session) >= max
      ? `more than ${max} long polls held for this session`
      : this.#polls.bytesFor(ip) + bytes > perIp
      ? `long polls held for this address take ${kib(perIp)} KiB of memory already; poll fewer rooms at once`
      : this.#polls.bytes + bytes > all
      ? `this server holds ${kib(all)} KiB of long polls already; try again later or another server`
      : null;
    if (why !== null) return error(w.tag, "rate-limited", why);
    this.#polls.hold(w, a.from, a.via);
    return null;
  }

  /** The refusal of a request over a quota, below the disk floor, or with a cursor too long (never remembered: it may pass later), or null. */
  #refusal(req: Request, from: Address, session: string, now: number): Answer | null {
    if (WRITING_VERBS.has(req.verb) && this.#o.diskLow?.()) {
      return error(req.tag, "unavailable", "this server's disk is nearly full; try another server");
    }
    const refused = WRITING_VERBS.has(req.verb) ? this.#o.writesRefused?.() ?? null : null;
    if (refused !== null) return error(req.tag, "unavailable", refused);
    if (req.verb === "request") {
      const bad = cursorProblem(req.cursor, this.#o.store.vector(), this.#o.cursorSlack ?? UNHEARD_ORIGINS);
      if (bad !== null) return error(req.tag, "bad-request", bad);
    }
    const why = this.#o.quotas?.refusal(req, from.host, session, now) ?? null;
    return why === null ? null : error(req.tag, "rate-limited", why);
  }

  /** Sends an ack the gate released, remembered for retransmissions like any reply. */
  #release(a: Arrival, reply: Reply): void {
    const answer = answerOf(reply);
    this.#o.answers.remember(a.req, a.key, answer, this.#o.clock.now());
    this.#send(answer, a.req.tag, a.from, a.via, a.source);
    this.#acked(answer, a.start);
  }

  /** True when `source` was told `rate-limited` less than a second ago. */
  #toldWithinSecond(source: string, now: number): boolean {
    const last = this.#toldLimited.get(source);
    return last !== undefined && now - last < 1000;
  }

  /** `rate-limited` for requests `over` a rate, at most once a second per source (further ones are dropped). */
  #refuseRate(tag: string, to: Address, via: ClientChannel, source: string, now: number, over: string): void {
    if (this.#toldWithinSecond(source, now)) return;
    if (this.#toldLimited.size > 10_000) {
      for (const [a, t] of this.#toldLimited) if (now - t >= 1000) this.#toldLimited.delete(a);
    }
    this.#toldLimited.set(source, now);
    this.#send(error(tag, "rate-limited", `too many requests ${over}; slow down`), tag, to, via);
  }

  /** An add's reply went out: an ok is an ack, timed from the request's arrival. */
  #acked(answer: Answer, start: number): void {
    if (answer.error === null) this.#o.metrics?.ackLatency((this.#o.clock.monotonic() - start) / 1000);
  }

  /** Every reply (to the request tagged `tag`) leaves here: within the budget of an unproven source (`source`: `to` on `via`), or not at all (lib/server/address_budget.ts). */
  #send(answer: Answer, tag: string, to: Address, via: ClientChannel, source = sourceKey(via, to)): void {
    const bytes = encodeText(answer.text);
    if (!this.budget.sent(source, bytes.length)) return;
    if (answer.error !== null) this.#o.metrics?.error(answer.error);
    via.send(bytes, to, tag);
  }

  /** Answers the held polls of rooms `rkeys` that have something to list now (stable delivery: a copy there settled). */
  wakeRooms(rkeys: Set<string>): void {
    if (rkeys.size > 0) this.#wake({ rooms: rkeys, notices: new Set() });
  }

  /** Answers the held polls of rooms with new messages (all of them) or new notices (those that list notices): one read per distinct cursor. */
  #wake(dirty: Dirty): void {
    for (const rkey of dirty.rooms) {
      const held = this.#polls.inRoom(rkey);
      if (held.length > 0) this.#answerPolls(held, false);
    }
    for (const rkey of dirty.notices) {
      if (dirty.rooms.has(rkey)) continue; // a message woke them all
      const held = this.#polls.inRoom(rkey).filter((h) => h.notices === true);
      if (held.length > 0) this.#answerPolls(held, false);
    }
  }

  #answerDue(): void {
    this.#answerPolls(this.#polls.takeDue(this.#o.clock.now()), true);
  }

  #answerPolls(held: Held[], orEmpty: boolean): void {
    // What each source may get now (it may have changed while the poll was held).
    for (const h of held) h.maxBytes = this.budget.room(sourceKey(h.via, h.to));
    const replies = pollMany(this.#o.handlers.store, held, orEmpty);
    for (let i = 0; i < held.length; i++) {
      const reply = replies[i];
      if (reply === null) continue;
      const h = held[i];
      this.#polls.release(h);
      const answer = answerOf(reply);
      this.#o.answers.rememberPoll(h.key, answer);
      this.#send(answer, h.tag, h.to, h.via);
    }
  }

  /** Forgets held polls (they get no answer) and stops their timer. */
  close(): void {
    this.#polls.clear();
  }
}

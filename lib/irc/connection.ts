/**
 * One IRC client connection as a pure state machine (docs/IRC.md). It talks
 * to DistChat only in Request and Reply values — exactly what a terminal
 * client would send — so an IRC user is an ordinary DistChat session. No
 * sockets, timers or clock inside: each call takes `now` and returns a step:
 * the IRC lines to send, the DistChat requests to run (their `tag` is the
 * correlation id: hand the reply back with `reply`), the SCRAM proofs to
 * compute (`proved`), and whether to close after sending.
 *
 * @example
 * ```ts
 * const c = new IrcConnection(config, now);
 * let step = c.bytes(new TextEncoder().encode("NICK bob\r\nUSER bob 0 * :Bob\r\n"), now);
 * // step.requests: [{ verb: "login", tag: "i1", userName: "bob" }]
 * step = c.reply({ verb: "ok", tag: "i1", kind: "login", userName: "bob", token, ttl: 300 }, now);
 * // step.lines: [":a.distchat 001 bob :Welcome to the DistChat IRC network, bob", …]
 * ```
 */
import { MAX_TOPIC_BYTES, type PresenceNote, type Reply, type Request } from "../wire/messages.ts";
import { utf8Clip } from "../wire/utf8.ts";
import { type IrcMessage, parseLine } from "./message.ts";
import { answerLines, clientLine, tagCapsKey } from "./_lines.ts";
import { LineSplitter } from "./framing.ts";
import { N } from "./numerics.ts";
import { hostmask } from "./names.ts";
import { type ConnState, type Core, type Ctx, emptyStep, type Follow, fromServer, type IrcConfig, type IrcStep, newState, type ProofJob, type ProofWork } from "./_core.ts";
import { type FeedEvent, feedFollow, overdueEchoes, pollFollow, watchingFeed } from "./_deliver.ts";
import { tickDms } from "./_dms.ts";
import { presenceNote, tickAway } from "./_presence.ts";
import { monitorNote } from "./_monitor.ts";
import { tickRegistration } from "./_registration.ts";
import { readMarkMoved } from "./_markread.ts";
import { BEFORE_REGISTRATION, HANDLERS } from "./_handlers.ts";
import { withBotTag } from "./_bot.ts";

export type { FeedEvent, IrcConfig, IrcStep, ProofJob };

/** Lines a client may send in a burst, and per second after it (then: "Excess flood"). */
const FLOOD_BURST = 100, FLOOD_PER_SECOND = 20;
/** DistChat requests one connection may have out at once (its long polls included). */
const MAX_OUTSTANDING = 256;
/** Lines that may wait behind a command in progress. */
const MAX_QUEUED = 256;
/** A command whose DistChat requests are not all answered after this long is given up (FAIL … TIMEOUT). */
const COMMAND_TIMEOUT_MS = 30_000;

type Pending = { ctx: Ctx | null; token: string | null; then: (r: Reply) => void };
/** Work that runs in turn with the client's commands. */
type Task = (ctx: Ctx) => void;

export class IrcConnection implements Core {
  readonly config: IrcConfig;
  readonly state: ConnState;
  now: number;
  #splitter = new LineSplitter();
  #out: IrcStep = emptyStep();
  #pending = new Map<string, Pending>();
  #proofs = new Map<number, { ctx: Ctx | null; then: (f: string | null) => void }>();
  #nextTag = 1;
  #nextBatch = 1;
  #flood: number = FLOOD_BURST;
  #floodAt: number;
  #closing: IrcMessage | null = null;
  /** The command waiting for DistChat, and the lines that came after it. */
  #current: Ctx | null = null;
  #queue: (Uint8Array | string | Task)[] = [];

  constructor(config: IrcConfig, now: number) {
    this.config = config;
    this.now = now;
    this.#floodAt = now;
    this.state = newState(now);
  }

  // --- Inputs ------------------------------------------------------------------

  /** Bytes from the socket. */
  bytes(chunk: Uint8Array, now: number): IrcStep {
    this.now = now;
    const { lines, overflow } = this.#splitter.push(chunk);
    for (const l of lines) {
      if (this.state.closing) break;
      this.#line(l);
    }
    if (overflow && !this.state.closing) this.close("Input line too long");
    return this.#take();
  }

  /** One line (without CR LF), e.g. from a WebSocket message. */
  line(line: Uint8Array | string, now: number): IrcStep {
    this.now = now;
    if (!this.state.closing) this.#line(line);
    return this.#take();
  }

  /** The reply to a request this connection asked for (by its tag); replies to unknown tags are ignored. */
  reply(reply: Reply, now: number): IrcStep {
    this.now = now;
    const p = this.#pending.get(reply.tag);
    if (p === undefined) return this.#take();
    this.#pending.delete(reply.tag);
    if (reply.verb === "error" && reply.code === "bad-token" && p.token !== null && p.token === this.state.token) {
      if (!this.state.closing) this.close(`DistChat session ended: ${reply.message}`);
      return this.#take();
    }
    if (!this.state.closing) this.#continue(p.ctx, () => p.then(reply));
    return this.#take();
  }

  /** The client-final computed for a proof job (null when the challenge was malformed). */
  proved(id: number, clientFinal: string | null, now: number): IrcStep {
    this.now = now;
    const p = this.#proofs.get(id);
    if (p !== undefined && !this.state.closing) {
      this.#proofs.delete(id);
      this.#continue(p.ctx, () => p.then(clientFinal));
    }
    return this.#take();
  }

  /** Time passes: registration and ping timeouts, polls to retry, new direct conversations, keep-alive. */
  tick(now: number): IrcStep {
    this.now = now;
    const stuck = this.#current;
    if (stuck !== null && now - stuck.startedAt > COMMAND_TIMEOUT_MS) {
      this.fail(stuck, stuck.command, "TIMEOUT", "DistChat did not answer in time; try again");
      stuck.open = 0; // its late answers change state but send nothing
      this.#finish(stuck);
    }
    if (!this.state.closing) tickRegistration(this);
    if (!this.state.closing && this.state.registered) {
      for (const f of [...this.state.channels.values(), ...this.state.dms.values()]) {
        if (!f.polling && f.retryAt <= now) pollFollow(this, f);
        overdueEchoes(this, f);
      }
      tickDms(this);
      tickAway(this);
    }
    return this.#take();
  }

  /** Looks for new direct conversations now (someone here wrote to this nick: IrcStep.dmsTo), in turn with the commands. */
  checkDms(now: number): IrcStep {
    this.now = now;
    if (!this.state.closing && this.state.registered) {
      this.#enqueue((ctx) => tickDms(this, ctx));
      this.#drain();
    }
    return this.#take();
  }

  /** The shared stream of `room` (IrcStep.watch) for this connection: a batch, "behind", or its poll's failure. */
  feed(room: string, ev: FeedEvent, now: number): IrcStep {
    this.now = now;
    feedFollow(this, room, ev);
    return this.#take();
  }

  /** A typing or away state the server heard (away and back when they change): TAGMSG +typing, AWAY (away-notify). */
  presence(note: PresenceNote, now: number): IrcStep {
    return this.#whileRegistered(now, () => presenceNote(this, note));
  }

  /** A monitored nick (by key) came online as `held`, or went offline (`held` null, `was` its name): 730/731 (MONITOR). */
  monitored(key: string, held: string | null, was: string, now: number): IrcStep {
    return this.#whileRegistered(now, () => monitorNote(this, key, held, was));
  }

  /** A line from the listener for this client now (another user's WALLOPS). */
  told(msg: IrcMessage, now: number): IrcStep {
    return this.#whileRegistered(now, () => this.push(msg));
  }

  /** News from the listener: told to a registered connection that is not closing, else dropped. */
  #whileRegistered(now: number, tell: () => void): IrcStep {
    this.now = now;
    if (!this.state.closing && this.state.registered) tell();
    return this.#take();
  }

  /** Another connection of this account moved a read marker (IrcStep.readMarks): MARKREAD, with draft/read-marker. */
  readMarkMoved(target: string, value: string, now: number): IrcStep {
    this.now = now;
    if (!this.state.closing) readMarkMoved(this, target, value);
    return this.#take();
  }

  /** True while channel `room` takes its shared stream (IrcStep.watch): the listener stops feeding it otherwise. */
  watching = (room: string): boolean => watchingFeed(this.state, room);

  /** The socket closed: the session is logged out (its name is free again). */
  disconnected(now: number): IrcStep {
    this.now = now;
    if (!this.state.closing) {
      this.state.closing = true;
      this.#logout("Connection closed");
    }
    return this.#take();
  }

  // --- Core (what handlers use) ------------------------------------------------

  numeric(ctx: Ctx, code: string, ...params: string[]): void {
    this.send(ctx, fromServer(this, code, [this.state.nick ?? "*", ...params]));
  }

  send(ctx: Ctx, msg: IrcMessage): void {
    ctx.lines.push(msg);
  }

  push(msg: IrcMessage): void {
    this.#emit(msg);
  }

  fail(ctx: Ctx, command: string, code: string, ...rest: string[]): void {
    this.send(ctx, fromServer(this, "FAIL", [command, code, ...rest]));
  }

  call(ctx: Ctx | null, build: (tag: string, token: string) => Request, then: (r: Reply) => void): void {
    const token = this.state.token;
    if (token === null) return; // not logged in (yet, or any more): nothing to ask
    this.#request(ctx, token, (tag) => build(tag, token), then);
  }

  callBare(ctx: Ctx | null, build: (tag: string) => Request, then: (r: Reply) => void): void {
    this.#request(ctx, null, build, then);
  }

  prove(ctx: Ctx | null, job: ProofWork, then: (clientFinal: string | null) => void): void {
    const id = this.#nextTag++;
    this.#proofs.set(id, { ctx, then });
    if (ctx) ctx.open++;
    this.#out.proofs.push({ id, ...job });
  }

  markedRead(target: string, value: string): void {
    (this.#out.readMarks ??= []).push({ target, value });
  }

  close(reason: string): void {
    if (this.state.closing) return;
    this.#closing = fromServer(this, "ERROR", [`Closing link: ${reason}`]); // sent last, after the answer in progress
    this.state.closing = true;
    this.#out.close = true;
    this.#logout(reason);
  }

  me(): string {
    return hostmask(this.state.nick ?? "*");
  }

  follow(f: Follow): void {
    pollFollow(this, f);
  }

  batchId(): string {
    return `b${this.#nextBatch++}`;
  }

  hold(ctx: Ctx): () => void {
    ctx.open++;
    let done = false;
    return () => {
      if (done || this.state.closing) return;
      done = true;
      this.#continue(ctx, () => {});
    };
  }

  sentDm(nick: string): void {
    this.#out.dmsTo.push(nick);
  }

  watch(f: Follow): void {
    this.#out.watch.push({ room: f.room, cursor: f.cursor });
  }

  // --- Inside ------------------------------------------------------------------

  /**
   * A line from the client. Commands run one at a time, in order, as on any
   * IRC server: while one waits for DistChat, later lines wait in a queue
   * (so JOIN then PRIVMSG works, and a PING's PONG comes after the answers
   * to what came before it).
   */
  #line(raw: Uint8Array | string): void {
    this.state.lastInput = this.now;
    this.state.pingSent = null;
    if (!this.#floodOk()) return this.close("Excess flood");
    this.#enqueue(raw);
    this.#drain();
  }

  #enqueue(item: Uint8Array | string | Task): void {
    if (this.#queue.length >= MAX_QUEUED) return this.close("Excess flood (too many commands waiting)");
    this.#queue.push(item);
  }

  /** Runs queued lines while no command is waiting. */
  #drain(): void {
    while (this.#current === null && this.#queue.length > 0 && !this.state.closing) this.#run(this.#queue.shift()!);
  }

  #run(raw: Uint8Array | string | Task): void {
    if (typeof raw === "function") {
      const ctx = this.#ctx(null);
      raw(ctx);
      if (ctx.open > 0) this.#current = ctx;
      return this.#finish(ctx);
    }
    const r = parseLine(raw);
    if (!r.ok) {
      const partial = r.error.partial;
      const ctx = this.#ctx(partial);
      if (r.error.code === "too-long") this.numeric(ctx, N.ERR_INPUTTOOLONG, "Input line was too long");
      else if (r.error.code === "bad-utf8") this.fail(ctx, partial?.command ?? "*", "INVALID_UTF8", "Message rejected: it is not valid UTF-8");
      else if (r.error.code !== "empty") this.fail(ctx, partial?.command ?? "*", "INVALID_LINE", `Line ignored: ${r.error.message}`);
      return this.#finish(ctx);
    }
    const m = r.value;
    const ctx = this.#ctx(m);
    const handler = HANDLERS[m.command];
    if (handler === undefined) this.numeric(ctx, N.ERR_UNKNOWNCOMMAND, m.command, "Unknown command");
    else if (!this.state.registered && !BEFORE_REGISTRATION.has(m.command)) this.numeric(ctx, N.ERR_NOTREGISTERED, "You have not registered");
    else if (this.#pending.size >= MAX_OUTSTANDING) this.fail(ctx, m.command, "TEMPORARILY_UNAVAILABLE", "Too many commands in progress; try again");
    else handler(this, m, ctx);
    if (ctx.open > 0) this.#current = ctx;
    this.#finish(ctx);
  }

  #ctx(m: IrcMessage | null): Ctx {
    const label = m?.tags.label;
    const labeled = label !== undefined && label !== "" && this.state.caps.has("labeled-response") && this.state.caps.has("batch");
    return { label: labeled ? label : null, command: m?.command ?? "*", startedAt: this.now, lines: [], open: 0, done: false };
  }

  #floodOk(): boolean {
    this.#flood = Math.min(FLOOD_BURST, this.#flood + ((this.now - this.#floodAt) / 1000) * FLOOD_PER_SECOND);
    this.#floodAt = this.now;
    if (this.#flood < 1) return false;
    this.#flood -= 1;
    return true;
  }

  #request(ctx: Ctx | null, token: string | null, build: (tag: string) => Request, then: (r: Reply) => void): void {
    const tag = `i${this.#nextTag++}`;
    this.#pending.set(tag, { ctx, token, then });
    if (ctx) ctx.open++;
    this.state.lastRequest = this.now;
    this.#out.requests.push(build(tag));
  }

  /** Runs a continuation of `ctx` and sends the answer once nothing of it is open. */
  #continue(ctx: Ctx | null, run: () => void): void {
    if (ctx) ctx.open--;
    run();
    if (ctx) this.#finish(ctx);
  }

  /** Sends a finished command's lines: labeled (one line, a labeled-response batch, or ACK) or as they are. */
  #finish(ctx: Ctx): void {
    if (ctx.open > 0 || ctx.done) return;
    ctx.done = true;
    this.#send(ctx);
    if (this.#current === ctx) {
      this.#current = null;
      this.#drain();
    }
  }

  #send(ctx: Ctx): void {
    for (const l of answerLines(ctx, () => this.batchId(), (command, params) => fromServer(this, command, params))) this.#emit(l);
  }

  /** Formats a line for the client, keeping only the tags its capabilities allow. */
  #emit(msg: IrcMessage): void {
    this.#out.lines.push(clientLine(withBotTag(this, msg), this.state.caps, tagCapsKey(this.state.caps)));
  }

  /** Logs the session out; `reason` goes with it, so its channels are told (a QUIT: docs/PROTOCOL.md "logout"). */
  #logout(reason: string): void {
    const token = this.state.token;
    if (token === null) return;
    this.state.token = null;
    const tag = `i${this.#nextTag++}`;
    this.#out.requests.push({ verb: "logout", tag, token, reason: utf8Clip(reason, MAX_TOPIC_BYTES) });
  }

  #take(): IrcStep {
    if (this.#closing !== null) {
      this.#emit(this.#closing);
      this.#closing = null;
    }
    const out = this.#out;
    this.#out = emptyStep();
    return out;
  }
}

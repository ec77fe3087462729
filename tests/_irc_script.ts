/**
 * Scripted conversations with lib/irc/connection.ts: IRC lines in; the
 * DistChat requests it makes are answered by a small stand-in (canned
 * answers per verb, overridable per test, long polls held until the test
 * answers them); IRC lines out. Time is a number the test moves.
 *
 * @example
 * ```ts
 * const s = new IrcScript();
 * s.register("bob");                 // NICK, USER, login answered, welcome read
 * s.send("JOIN #lobby");
 * s.lines();                         // [":bob!bob@distchat JOIN #lobby", …]
 * ```
 */
import { type IrcConfig, IrcConnection, type IrcStep } from "../lib/irc/connection.ts";
import type { MsgId, PollEntry, Reply, Request } from "../lib/wire/messages.ts";
import { fromEntries } from "../lib/wire/vector.ts";
import { pbkdf2Sync } from "node:crypto";
import { clientFinalSalted, parseServerFirst } from "../lib/accounts/scram.ts";

export const CONFIG: IrcConfig = {
  serverName: "a.distchat",
  network: "DistChat",
  version: "distchat-0.1.0",
  createdAt: Date.UTC(2026, 0, 1),
  motd: [],
  servers: 3,
  pollWaitMs: 25000,
  dmsEveryMs: 5000,
  random: (n) => new Uint8Array(n).fill(7),
};

type Answer = (req: Request) => Reply | null;

/** An entry of a room's stream. */
export function entry(origin: string, n: number, userName: string, msg: string, sentAt = 1_700_000_000_000 + n * 1000): PollEntry {
  return { msgId: { origin, n }, userName, sentAt, msg };
}

export class IrcScript {
  readonly c: IrcConnection;
  now = 1_700_000_000_000;
  /** Requests asked and not answered (long polls, and whatever a test answers by hand). */
  held: Request[] = [];
  /** Every request asked, in order. */
  asked: Request[] = [];
  proofs: IrcStep["proofs"] = [];
  /** Read markers the connection moved (IrcStep.readMarks), for the listener to tell the account's others. */
  readMarks: NonNullable<IrcStep["readMarks"]> = [];
  closed = false;
  #lines: string[] = [];
  #next = 100;
  /** Canned answers by verb; a test replaces those it needs. Returning null holds the request. */
  answers: Partial<Record<Request["verb"], Answer>>;
  /** Compute SCRAM proofs at once (with scram.ts) when true. */
  autoProve = true;
  /** IRC operators' passwords, by name (OPER's proof jobs are answered from them). */
  opers: Record<string, string> = { operuser: "operpassword" };

  constructor(config: Partial<IrcConfig> = {}) {
    this.c = new IrcConnection({ ...CONFIG, ...config }, this.now);
    const me = () => this.c.state.userName ?? "me";
    this.answers = {
      login: (r) => ({ verb: "ok", tag: r.tag, kind: "login", userName: (r as { userName: string }).userName, token: "T".repeat(43), ttl: 300 }),
      logout: (r) => ({ verb: "ok", tag: r.tag, kind: "logout" }),
      connect: (r) => ({ verb: "ok", tag: r.tag, kind: "connect", groupName: (r as { groupName: string }).groupName }),
      open: (r) => ({ verb: "ok", tag: r.tag, kind: "open", groupName: (r as { groupName: string }).groupName }),
      leave: (r) => ({ verb: "ok", tag: r.tag, kind: "leave", groupName: (r as { groupName: string }).groupName }),
      room: (r) => ({ verb: "ok", tag: r.tag, kind: "room", groupName: (r as { groupName: string }).groupName, mode: "-", topicBy: "-", topicAt: 0, topic: "", roles: [] }),
      who: (r) => ({ verb: "ok", tag: r.tag, kind: "who", groupName: (r as { groupName: string }).groupName, more: false, names: [me()] }),
      rooms: (r) => ({ verb: "ok", tag: r.tag, kind: "rooms", more: false, names: [] }),
      history: (r) => ({ verb: "ok", tag: r.tag, kind: "history", groupName: (r as { groupName: string }).groupName, cursor: fromEntries([["a", 1]]), more: false, entries: [] }),
      request: () => null,
      add: (r) => ({ verb: "ok", tag: r.tag, kind: "add", msg: (r as { msg: string }).msg, groupName: (r as { groupName: string }).groupName, msgId: { origin: "a", n: this.#next++ } }),
      mod: (r) => {
        const m = r as Extract<Request, { verb: "mod" }>;
        return { verb: "ok", tag: r.tag, kind: "mod", groupName: m.groupName, action: m.action, target: m.target };
      },
      whois: (r) => ({ verb: "ok", tag: r.tag, kind: "whois", userName: (r as { userName: string }).userName, registered: false, idle: 3, publicKey: "-", rooms: [] }),
      dms: (r) => ({ verb: "ok", tag: r.tag, kind: "dms", entries: [] }),
    };
  }

  /** Takes a step's output and answers its requests (repeatedly: answers make more requests). */
  take(step: IrcStep): void {
    this.#lines.push(...step.lines);
    this.closed ||= step.close;
    this.proofs.push(...step.proofs);
    this.readMarks.push(...step.readMarks ?? []);
    for (const req of step.requests) {
      this.asked.push(req);
      const answer = this.answers[req.verb];
      const reply = answer ? answer(req) : null;
      if (reply === null) this.held.push(req);
      else this.take(this.c.reply(reply, this.now));
    }
    if (this.autoProve) {
      const jobs = this.proofs.splice(0);
      for (const j of jobs) {
        if ("oper" in j) {
          this.take(this.c.proved(j.id, this.opers[j.oper] === j.password ? "ok" : null, this.now));
          continue;
        }
        // A REGISTER's verifier job gets stand-in keys (the stand-in `register` checks none; 600,000 rounds are slow).
        const f = "salt" in j ? "c3RvcmVk c2VydmVy" : clientFinalNow(j.password, j.clientFirstBare, j.serverFirst)?.message ?? null;
        this.take(this.c.proved(j.id, f, this.now));
      }
    }
  }

  /** Sends one line from the client. */
  send(line: string | Uint8Array): this {
    this.take(this.c.line(line, this.now));
    return this;
  }

  /** Raw bytes from the client. */
  bytes(b: Uint8Array): this {
    this.take(this.c.bytes(b, this.now));
    return this;
  }

  /** Moves time and ticks. */
  tick(ms: number): this {
    this.now += ms;
    this.take(this.c.tick(this.now));
    return this;
  }

  /** Answers a held request. */
  answer(req: Request, reply: Reply): this {
    this.held = this.held.filter((r) => r !== req);
    this.take(this.c.reply(reply, this.now));
    return this;
  }

  /** The held request of `verb` (and room), the oldest first; throws when there is none. */
  heldOf(verb: Request["verb"], groupName?: string): Request {
    const r = this.held.find((x) => x.verb === verb && (groupName === undefined || (x as { groupName?: string }).groupName === groupName));
    if (!r) throw new Error(`no held ${verb} ${groupName ?? ""}; held: ${this.held.map((h) => h.verb).join(", ")}`);
    return r;
  }

  /** Delivers entries to the held long poll of `room`. */
  poll(room: string, entries: PollEntry[], cursor: [string, number][] = [["a", 99]]): this {
    const req = this.heldOf("request", room);
    return this.answer(req, { verb: "poll", tag: req.tag, groupName: room, cursor: fromEntries(cursor), more: false, entries });
  }

  /** Lines sent since the last call. */
  lines(): string[] {
    return this.#lines.splice(0);
  }

  /** Requests asked since `from` (an index into `asked`). */
  since(from: number): Request[] {
    return this.asked.slice(from);
  }

  /** NICK + USER (with CAP REQ of `caps` first), the login answered; returns the welcome lines. */
  register(nick: string, caps: string[] = []): string[] {
    if (caps.length > 0) {
      this.send("CAP LS 302");
      this.send(`CAP REQ :${caps.join(" ")}`);
    }
    this.send(`NICK ${nick}`).send(`USER ${nick} 0 * :${nick} Real`);
    if (caps.length > 0) this.send("CAP END");
    return this.lines();
  }

  /** Registers and joins `channel` with the canned answers; returns the join's lines. */
  joined(nick: string, channel: string, caps: string[] = []): string[] {
    this.register(nick, caps);
    this.send(`JOIN ${channel}`);
    return this.lines();
  }
}

/** scram.ts's `clientFinal` at once (the script is synchronous): the PBKDF2 by node:crypto's pbkdf2Sync, the rest by scram.ts. */
export function clientFinalNow(password: string, clientFirstBare: string, serverFirst: string): ReturnType<typeof clientFinalSalted> {
  const s = parseServerFirst(clientFirstBare, serverFirst);
  if (!s) return null;
  return clientFinalSalted(new Uint8Array(pbkdf2Sync(password.normalize("NFC"), s.salt, s.iterations, 32, "sha256")), clientFirstBare, serverFirst);
}

/** A msgID. */
export const id = (origin: string, n: number): MsgId => ({ origin, n });

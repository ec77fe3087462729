/**
 * Connection registration (private to lib/irc): CAP negotiation (IRCv3
 * capability negotiation 3.2), NICK, USER, PASS, SASL PLAIN and
 * SCRAM-SHA-256 over DistChat accounts (lib/irc/_sasl.ts), the welcome
 * burst, PING/PONG, QUIT, a nick change after registration, and the
 * connection's timers (driven by `tick`).
 *
 * The DistChat session is made at registration: `login NICK` (a name held
 * by someone else or registered is ERR_NICKNAMEINUSE, 433), or a password
 * login when SASL or PASS gave a password (docs/PROTOCOL.md "Accounts").
 */
import type { Reply } from "../wire/messages.ts";
import { type Core, type Ctx, fromServer, type Handler } from "./_core.ts";
import { N } from "./numerics.ts";
import { CAPS, capList } from "./isupport.ts";
import { hostmask, nameKey, nickProblem } from "./names.ts";
import { sendIsupport, sendLusers, sendMotd } from "./_queries.ts";
import { authenticate, scramLogin } from "./_sasl.ts";
import { expect } from "./_deliver.ts";
import { tickDms } from "./_dms.ts";

/** A client must register within this long. */
const REGISTRATION_MS = 60_000;
/** Silence after which the server sends PING, and then waits as long again for any line. */
const PING_AFTER_MS = 120_000;

/** Empty `rooms` page past the last possible name: the cheapest request that keeps a session alive. */
const PROBE_AFTER = "z".repeat(64);

function cap(c: Core, m: { params: string[] }, ctx: Ctx): void {
  const sub = (m.params[0] ?? "").toUpperCase();
  const nick = c.state.nick ?? "*";
  const reply = (...params: string[]) => c.send(ctx, fromServer(c, "CAP", [nick, ...params]));
  switch (sub) {
    case "LS": {
      const version = Number(m.params[1] ?? "0");
      c.state.capVersion = Math.max(c.state.capVersion, Number.isInteger(version) ? version : 0);
      if (!c.state.registered) c.state.capNegotiating = true;
      return reply("LS", capList(c.state.capVersion).join(" "));
    }
    case "LIST":
      return reply("LIST", [...c.state.caps].join(" "));
    case "REQ": {
      if (!c.state.registered) c.state.capNegotiating = true;
      const asked = (m.params[1] ?? "").split(" ").filter((x) => x !== "");
      const known = asked.every((a) => (a.startsWith("-") ? a.slice(1) : a) in CAPS);
      if (!known || asked.length === 0) return reply("NAK", m.params[1] ?? "");
      for (const a of asked) a.startsWith("-") ? c.state.caps.delete(a.slice(1)) : c.state.caps.add(a);
      return reply("ACK", m.params[1] ?? "");
    }
    case "END":
      if (c.state.registered) return;
      c.state.capNegotiating = false;
      if (c.state.sasl !== null && c.state.sasl.step !== "busy") {
        // Registration ends an exchange still waiting for the client (IRCv3 SASL 3.1).
        c.state.sasl = null;
        c.numeric(ctx, N.ERR_SASLABORTED, "SASL authentication aborted");
      }
      return tryRegister(c, ctx);
    default:
      c.numeric(ctx, N.ERR_INVALIDCAPCMD, m.params[0] ?? "*", "Invalid CAP subcommand");
  }
}

function nick(c: Core, m: { params: string[] }, ctx: Ctx): void {
  const wanted = m.params[0];
  if (wanted === undefined || wanted === "") return c.numeric(ctx, N.ERR_NONICKNAMEGIVEN, "No nickname given");
  const problem = nickProblem(wanted);
  if (problem !== null) return c.numeric(ctx, N.ERR_ERRONEUSNICKNAME, wanted, `Erroneous nickname: ${problem}`);
  if (!c.state.registered) {
    c.state.nick = wanted;
    return tryRegister(c, ctx);
  }
  if (nameKey(wanted) === nameKey(c.state.nick ?? "")) return; // a change of case only: DistChat names keep theirs
  if (c.state.account !== null) {
    return c.numeric(ctx, N.ERR_NICKLOCKED, `You are logged in as ${c.state.account}: your nick is your account's name`);
  }
  rename(c, ctx, wanted);
}

function user(c: Core, m: { params: string[] }, ctx: Ctx): void {
  if (c.state.registered) return c.numeric(ctx, N.ERR_ALREADYREGISTERED, "You may not reregister");
  if (m.params.length < 4 || m.params[0] === "" || m.params[3] === "") return c.numeric(ctx, N.ERR_NEEDMOREPARAMS, "USER", "Not enough parameters");
  c.state.user = m.params[0];
  c.state.realname = m.params[3];
  tryRegister(c, ctx);
}

function pass(c: Core, m: { params: string[] }, ctx: Ctx): void {
  if (c.state.registered) return c.numeric(ctx, N.ERR_ALREADYREGISTERED, "You may not reregister");
  if (m.params.length < 1) return c.numeric(ctx, N.ERR_NEEDMOREPARAMS, "PASS", "Not enough parameters");
  c.state.pass = m.params[0];
}

function ping(c: Core, m: { params: string[] }, ctx: Ctx): void {
  if (m.params.length < 1 || m.params[0] === "") return c.numeric(ctx, N.ERR_NOORIGIN, "No origin specified");
  c.send(ctx, fromServer(c, "PONG", [c.config.serverName, m.params[0]]));
}

function quit(c: Core, m: { params: string[] }): void {
  c.close(m.params[0] ? `Quit: ${m.params[0]}` : "Quit");
}

/** Logs in once NICK and USER are known and CAP negotiation (if any) is over. */
export function tryRegister(c: Core, ctx: Ctx): void {
  const s = c.state;
  if (s.registered || s.loggingIn || s.capNegotiating || s.sasl !== null || s.nick === null || s.user === null) return;
  if (s.token !== null) return welcome(c, ctx); // SASL made the session
  s.loggingIn = true;
  const name = s.nick;
  const plain = () => c.callBare(ctx, (tag) => ({ verb: "login", tag, userName: name }), (r) => loggedIn(c, ctx, r, s.pass !== null));
  if (s.pass === null) return plain();
  const password = s.pass;
  scramLogin(c, ctx, name, password, (r) => {
    // A password for a name not registered: an ordinary login (the terminal client does the same).
    if (r.verb === "error" && r.code === "bad-password") return plain();
    if (r.verb === "ok" && r.kind === "login") s.account = r.userName;
    loggedIn(c, ctx, r, false);
  });
}

function loggedIn(c: Core, ctx: Ctx, r: Reply, triedPassword: boolean): void {
  const s = c.state;
  s.loggingIn = false;
  if (r.verb === "ok" && r.kind === "login") {
    s.token = r.token;
    s.userName = r.userName;
    s.ttl = r.ttl;
    return welcome(c, ctx);
  }
  if (r.verb !== "error") return c.close("unexpected reply to login");
  const wanted = s.nick ?? "*";
  if (r.code === "name-taken" && triedPassword && /registered/.test(r.message)) {
    c.numeric(ctx, N.ERR_PASSWDMISMATCH, "Password incorrect");
    return c.close("Bad password");
  }
  s.nick = null; // the client must choose another (RFC 2812 §3.1.2)
  if (r.code === "name-taken") {
    const why = /registered/.test(r.message) ? `${wanted} is a registered name: log in with SASL (or PASS) to use it` : "Nickname is already in use";
    return c.numeric(ctx, N.ERR_NICKNAMEINUSE, wanted, why);
  }
  if (r.code === "bad-name" || r.code === "bad-request") return c.numeric(ctx, N.ERR_ERRONEUSNICKNAME, wanted, r.message);
  c.close(`cannot log in: ${r.message}`); // rate-limited, unavailable, internal: try again later (or another server)
}

/** The welcome burst: 001–005, LUSERS, MOTD (RFC 2812 §5.1, Modern IRC "Connection Registration"). */
export function welcome(c: Core, ctx: Ctx): void {
  const s = c.state;
  s.registered = true;
  s.nick = s.userName ?? s.nick;
  const cfg = c.config;
  c.numeric(ctx, N.RPL_WELCOME, `Welcome to the ${cfg.network} IRC network, ${hostmask(s.nick ?? "*")}`);
  c.numeric(ctx, N.RPL_YOURHOST, `Your host is ${cfg.serverName}, running version ${cfg.version}`);
  c.numeric(ctx, N.RPL_CREATED, `This server was created ${new Date(cfg.createdAt).toUTCString()}`);
  c.numeric(ctx, N.RPL_MYINFO, cfg.serverName, cfg.version, "Biow", "biklmnostv", "bklov");
  sendIsupport(c, ctx);
  sendLusers(c, ctx);
  sendMotd(c, ctx);
  tickDms(c, ctx); // the baseline: conversations as they stand now are not news
}

/**
 * NICK after registration: DistChat has no rename, so the new name gets a
 * session of its own (`login`), joins every channel of the old one, and the
 * old session logs out. Other users see the old name leave and the new one
 * join; direct conversations of an unregistered old name stay with it.
 */
function rename(c: Core, ctx: Ctx, wanted: string): void {
  c.callBare(ctx, (tag) => ({ verb: "login", tag, userName: wanted }), (r) => {
    if (r.verb !== "ok" || r.kind !== "login") {
      const code = r.verb === "error" && r.code === "name-taken" ? N.ERR_NICKNAMEINUSE : N.ERR_ERRONEUSNICKNAME;
      const text = r.verb === "error" ? (r.code === "name-taken" ? "Nickname is already in use" : r.message) : "unexpected reply";
      return c.numeric(ctx, code, wanted, text);
    }
    adoptSession(c, ctx, r);
  });
}

/**
 * A registered connection moves to the new session of login reply `r` (a nick change, SASL after
 * registration): the new session joins every channel of the old one, the old logs out, and the client is
 * told its new nick when the name changed.
 */
export function adoptSession(c: Core, ctx: Ctx, r: Extract<Reply, { kind: "login" }>): void {
  const s = c.state;
  const oldToken = s.token, oldNick = s.nick ?? "*";
  s.token = r.token;
  s.userName = r.userName;
  s.ttl = r.ttl;
  for (const f of s.channels.values()) {
    expect(f, oldNick, "\u0001leave");
    expect(f, r.userName, "\u0001join");
    f.generation++;
    f.polling = false;
    c.call(ctx, (tag, token) => ({ verb: "connect", tag, token, groupName: f.room }), () => c.follow(f));
  }
  for (const f of s.dms.values()) f.generation++;
  s.dms.clear(); // an unregistered name's conversations belong to its session
  if (oldToken !== null) c.callBare(null, (tag) => ({ verb: "logout", tag, token: oldToken }), () => {});
  if (oldNick !== r.userName) c.send(ctx, { tags: {}, source: hostmask(oldNick), command: "NICK", params: [r.userName] });
  s.nick = r.userName;
}

/** Timers: registration timeout, PING after silence and its timeout, the session's keep-alive. */
export function tickRegistration(c: Core): void {
  const s = c.state, now = c.now;
  if (!s.registered) {
    if (now - s.connectedAt > REGISTRATION_MS) c.close("Registration timed out");
    return;
  }
  if (s.pingSent !== null && now - s.pingSent > PING_AFTER_MS) return c.close(`Ping timeout: ${PING_AFTER_MS / 1000} seconds`);
  if (s.pingSent === null && now - s.lastInput > PING_AFTER_MS) {
    s.pingSent = now;
    c.push(fromServer(c, "PING", [c.config.serverName]));
  }
  if (s.token !== null && now - s.lastRequest > (s.ttl * 1000) / 3) {
    c.call(null, (tag, token) => ({ verb: "rooms", tag, token, after: PROBE_AFTER }), () => {});
  }
}

export const REGISTRATION_HANDLERS: Record<string, Handler> = {
  CAP: cap,
  NICK: nick,
  USER: user,
  PASS: pass,
  PING: ping,
  PONG: () => {},
  QUIT: quit,
  AUTHENTICATE: authenticate,
};

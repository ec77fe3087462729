/**
 * SASL over DistChat accounts (private to lib/irc; IRCv3 SASL 3.1/3.2,
 * RFC 4616 PLAIN, RFC 5802/7677 SCRAM-SHA-256). DistChat logs registered
 * names in with SCRAM (docs/PROTOCOL.md "Accounts"), so:
 *
 * - SCRAM-SHA-256 is relayed: the client's first message becomes `auth`
 *   (name, nonce), the server-first goes back, the client-final becomes
 *   `login` with its proof, and the server-final goes back. The front end
 *   never sees a password.
 * - PLAIN gives the front end the password: it runs the same exchange on
 *   the client's behalf (a proof job: PBKDF2 is slow, so the caller runs it
 *   off the event loop) and forgets the password.
 * - After registration (SASL 3.2), a successful exchange moves the
 *   connection to the account's new session, as a nick change does.
 */
import { Buffer } from "node:buffer";
import { parseClientFirst } from "../accounts/scram.ts";
import type { Reply } from "../wire/messages.ts";
import { type Core, type Ctx, fromServer } from "./_core.ts";
import { N } from "./numerics.ts";
import { SASL_MECHANISMS } from "./isupport.ts";
import { hostmask, isNick } from "./names.ts";
import { adoptSession, tryRegister } from "./_registration.ts";

/** AUTHENTICATE carries base64 in chunks of 400 bytes; a shorter chunk (or "+") ends it. */
const CHUNK = 400;
/** Longest SASL message taken (a SCRAM client-final is ~150 bytes; PLAIN with a long password a few hundred). */
const MAX_SASL_BYTES = 4096;
/** The nonce DistChat's `auth` takes: 16 to 64 printable ASCII characters without ",". */
const NONCE = /^[\x21-\x2b\x2d-\x7e]{16,64}$/;

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

function decode(text: string): string | null {
  if (text === "") return "";
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0) return null;
  return Buffer.from(text, "base64").toString("utf8");
}

/**
 * A password login (`auth`, a proof job, `login` with the proof): `done`
 * gets the `login` reply, or the `auth` error.
 */
export function scramLogin(c: Core, ctx: Ctx, name: string, password: string, done: (r: Reply) => void): void {
  const nonce = Buffer.from(c.config.random(18)).toString("base64url");
  const bare = `n=${name},r=${nonce}`;
  c.callBare(ctx, (tag) => ({ verb: "auth", tag, userName: name, nonce }), (r) => {
    if (r.verb !== "ok" || r.kind !== "auth") return done(r);
    c.prove(ctx, { password, clientFirstBare: bare, serverFirst: r.serverFirst }, (final) => {
      if (final === null) return done({ verb: "error", tag: r.tag, code: "bad-password", message: "malformed challenge" });
      c.callBare(ctx, (tag) => ({ verb: "login", tag, userName: name, proof: final }), done);
    });
  });
}

/** AUTHENTICATE: starts, continues or aborts an exchange. */
export function authenticate(c: Core, m: { params: string[] }, ctx: Ctx): void {
  const s = c.state;
  const arg = m.params[0];
  if (arg === undefined) return c.numeric(ctx, N.ERR_NEEDMOREPARAMS, "AUTHENTICATE", "Not enough parameters");
  const failed = (text = "SASL authentication failed") => {
    s.sasl = null;
    c.numeric(ctx, N.ERR_SASLFAIL, text);
    tryRegister(c, ctx);
  };
  if (arg === "*") {
    if (s.sasl === null) return c.numeric(ctx, N.ERR_SASLABORTED, "SASL authentication aborted");
    s.sasl = null;
    c.numeric(ctx, N.ERR_SASLABORTED, "SASL authentication aborted");
    return tryRegister(c, ctx);
  }
  // Before registration one account; after it, a new login moves the connection to that account (adoptSession).
  if (!s.registered && s.account !== null && s.sasl === null) return c.numeric(ctx, N.ERR_SASLALREADY, "You have already authenticated using SASL");
  if (s.sasl === null) {
    const mech = arg.toUpperCase();
    if (!(SASL_MECHANISMS as readonly string[]).includes(mech)) {
      c.numeric(ctx, N.RPL_SASLMECHS, SASL_MECHANISMS.join(","), "are available SASL mechanisms");
      return failed();
    }
    s.sasl = { mech, chunks: "", step: "first", name: "", bare: "" };
    return c.send(ctx, fromServer(c, "AUTHENTICATE", ["+"]));
  }
  const sasl = s.sasl;
  if (sasl.step === "busy") return; // a DistChat request of this exchange is out
  if (arg.length > CHUNK) {
    s.sasl = null;
    return c.numeric(ctx, N.ERR_SASLTOOLONG, "SASL message too long");
  }
  sasl.chunks += arg === "+" ? "" : arg;
  if (sasl.chunks.length > MAX_SASL_BYTES) return failed("SASL message too long");
  if (arg.length === CHUNK) return; // more to come
  const text = decode(sasl.chunks);
  sasl.chunks = "";
  if (text === null) return failed("SASL message is not base64");
  if (sasl.mech === "PLAIN") return plain(c, ctx, text, failed);
  return scram(c, ctx, text, failed);
}

function plain(c: Core, ctx: Ctx, text: string, failed: (t?: string) => void): void {
  const parts = text.split("\0");
  if (parts.length !== 3) return failed("SASL PLAIN message is malformed");
  const [authzid, authcid, password] = parts;
  if ((authzid !== "" && authzid !== authcid) || !isNick(authcid)) return failed();
  c.state.sasl!.step = "busy";
  scramLogin(c, ctx, authcid, password, (r) => finish(c, ctx, r, failed));
}

function scram(c: Core, ctx: Ctx, text: string, failed: (t?: string) => void): void {
  const sasl = c.state.sasl!;
  if (sasl.step === "first") {
    const first = parseClientFirst(text);
    if (first === null || !isNick(first.name) || !NONCE.test(first.nonce)) return failed("SCRAM client-first message is malformed (or its nonce is not 16-64 characters)");
    sasl.step = "busy";
    c.callBare(ctx, (tag) => ({ verb: "auth", tag, userName: first.name, nonce: first.nonce }), (r) => {
      if (c.state.sasl !== sasl) return;
      if (r.verb !== "ok" || r.kind !== "auth") return failed(r.verb === "error" ? `SASL authentication failed: ${r.message}` : undefined);
      sasl.step = "final";
      sasl.name = first.name;
      sasl.bare = first.bare;
      c.send(ctx, fromServer(c, "AUTHENTICATE", [b64(r.serverFirst)]));
    });
    return;
  }
  if (sasl.step === "final") {
    sasl.step = "busy";
    c.callBare(ctx, (tag) => ({ verb: "login", tag, userName: sasl.name, proof: text }), (r) => {
      if (c.state.sasl !== sasl) return;
      if (r.verb !== "ok" || r.kind !== "login" || r.serverFinal === undefined) return finish(c, ctx, r, failed);
      loggedIn(c, r);
      sasl.step = "ack";
      c.send(ctx, fromServer(c, "AUTHENTICATE", [b64(r.serverFinal)]));
    });
    return;
  }
  // "ack": the client read the server-final (RFC 5802 §3: an empty response)
  succeeded(c, ctx);
}

/** Logins made after registration, waiting for the exchange to end before the connection moves to them. */
const afterRegistration = new WeakMap<object, Extract<Reply, { kind: "login" }>>();

function loggedIn(c: Core, r: Extract<Reply, { kind: "login" }>): void {
  if (c.state.registered) return void afterRegistration.set(c.state, r);
  c.state.token = r.token;
  c.state.userName = r.userName;
  c.state.account = r.userName;
  c.state.ttl = r.ttl;
}

function finish(c: Core, ctx: Ctx, r: Reply, failed: (t?: string) => void): void {
  if (r.verb !== "ok" || r.kind !== "login") {
    return failed(r.verb === "error" && r.code === "rate-limited" ? `SASL authentication failed: ${r.message}` : undefined);
  }
  loggedIn(c, r);
  succeeded(c, ctx);
}

/**
 * 900 and 903; before registration, registration goes on. After it (SASL 3.2: at any time), the connection
 * then moves to the account's new session — its nick becomes the account's name (a NICK line when it
 * changes), as DistChat's nick is the account — and the old session logs out.
 */
function succeeded(c: Core, ctx: Ctx): void {
  const s = c.state;
  s.sasl = null;
  const later = afterRegistration.get(s);
  afterRegistration.delete(s);
  const account = later?.userName ?? s.account ?? "*";
  c.numeric(ctx, N.RPL_LOGGEDIN, hostmask(s.nick ?? account), account, `You are now logged in as ${account}`);
  c.numeric(ctx, N.RPL_SASLSUCCESS, "SASL authentication successful");
  if (later === undefined) return tryRegister(c, ctx);
  adoptSession(c, ctx, later);
  s.account = later.userName;
}

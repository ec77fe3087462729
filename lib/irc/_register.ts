/**
 * IRCv3 `draft/account-registration` over DistChat accounts (private to
 * lib/irc; docs/IRC.md "Accounts"): `REGISTER <account> <email> <password>`
 * makes the connection's nick a registered DistChat account — the
 * front end computes the SCRAM-SHA-256 verifier from the password (PBKDF2
 * off the event loop, a proof job) and sends `register`, exactly what the
 * terminal and web clients send (docs/PROTOCOL.md "Accounts"); the session
 * is then bound to the account. The account is the nick (`*` or the nick
 * itself: DistChat's `register` registers the session's own name), after
 * registration only (a DistChat session exists from then), without an
 * email (DistChat keeps none) and without verification (VERIFY has
 * nothing to check).
 */
import { Buffer } from "node:buffer";
import { DEFAULT_ITERATIONS } from "../accounts/scram.ts";
import { MIN_PASSWORD_CHARS } from "../client/terminal_secrets.ts";
import type { Core, Ctx, Handler } from "./_core.ts";
import type { IrcMessage } from "./message.ts";
import { hostmask, nameKey } from "./names.ts";
import { N } from "./numerics.ts";

/** Salt bytes of a new verifier (DistChat takes 16 and up). */
const SALT_BYTES = 16;
/** Verifiers one connection may have computed (each is 600,000 PBKDF2 rounds of the server's CPU); a client registers once. */
const MAX_VERIFIERS = 3;
/** Verifiers computed per connection (by its state object). */
const computed = new WeakMap<object, number>();

/** REGISTER account email password. */
function register(c: Core, m: IrcMessage, ctx: Ctx): void {
  const s = c.state;
  const fail = (code: string, ...rest: string[]) => c.fail(ctx, "REGISTER", code, ...rest);
  if (m.params.length < 3) return fail("NEED_MORE_PARAMS", "Usage: REGISTER <account or *> <email or *> <password>");
  const [wanted, email, password] = m.params;
  if (!s.registered || s.token === null || s.nick === null) {
    return fail("COMPLETE_CONNECTION_REQUIRED", wanted, "Register after connecting (NICK and USER): a DistChat account is made by the session of its name");
  }
  const account = s.nick;
  if (wanted !== "*" && nameKey(wanted) !== nameKey(account)) return fail("ACCOUNT_NAME_MUST_BE_NICK", wanted, `The account is your nick, ${s.nick}: give * or ${s.nick}`);
  if (s.account !== null) return fail("ALREADY_AUTHENTICATED", account, `You are logged in to the account ${s.account} already`);
  if (email !== "*") return fail("UNACCEPTABLE_EMAIL", account, "DistChat keeps no email address: give * as the email");
  if ([...password].length < MIN_PASSWORD_CHARS) return fail("WEAK_PASSWORD", account, `A password needs at least ${MIN_PASSWORD_CHARS} characters`);
  const spent = computed.get(s) ?? 0;
  if (spent >= MAX_VERIFIERS) return fail("TEMPORARILY_UNAVAILABLE", account, `At most ${MAX_VERIFIERS} REGISTER attempts per connection: reconnect to try again`);
  computed.set(s, spent + 1);
  const salt = Buffer.from(c.config.random(SALT_BYTES)).toString("base64");
  c.prove(ctx, { password, salt, iterations: DEFAULT_ITERATIONS }, (keys) => {
    const [storedKey, serverKey] = (keys ?? "").split(" ");
    if (serverKey === undefined) return fail("TEMPORARILY_UNAVAILABLE", account, "Could not compute the account's verifier");
    c.call(ctx, (tag, token) => ({ verb: "register", tag, token, verifier: { salt, iterations: DEFAULT_ITERATIONS, storedKey, serverKey }, publicKey: "-" }), (r) => {
      if (r.verb === "ok" && r.kind === "register") {
        s.account = r.userName;
        c.numeric(ctx, N.RPL_LOGGEDIN, hostmask(s.nick ?? r.userName), r.userName, `You are now logged in as ${r.userName}`);
        return c.send(ctx, { tags: {}, source: c.config.serverName, command: "REGISTER", params: ["SUCCESS", r.userName, "Account registered: log in with SASL (or PASS) from now on"] });
      }
      if (r.verb !== "error") return;
      fail(r.code === "name-taken" ? "ACCOUNT_EXISTS" : "TEMPORARILY_UNAVAILABLE", account, r.message);
    });
  });
}

/** VERIFY account code: DistChat accounts need no verification, so there is no code to check. */
function verify(c: Core, m: IrcMessage, ctx: Ctx): void {
  if (m.params.length < 2) return c.fail(ctx, "VERIFY", "NEED_MORE_PARAMS", "Usage: VERIFY <account> <code>");
  c.fail(ctx, "VERIFY", "INVALID_CODE", m.params[0], "DistChat accounts need no verification: REGISTER completes at once");
}

export const REGISTER_HANDLERS: Record<string, Handler> = { REGISTER: register, VERIFY: verify };

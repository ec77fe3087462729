/**
 * The account verbs (docs/PROTOCOL.md "Accounts"): SCRAM challenges and
 * proofs through the account desk (lib/accounts/desk.ts), registration,
 * password changes and drops, public DM keys, and `whois`.
 */
import type { AccountRequest, AuthRequest, PublicKeyRequest, RegisterRequest, Reply, WhoisRequest } from "../wire/messages.ts";
import { type Account, regData, verifierData } from "../rules/ledger.ts";
import { type Context, refuse } from "./context.ts";
import { auth } from "./_access.ts";

/** The session id of account ops made without a session (`password`, `drop`). */
const NO_SESSION = "0".repeat(64);

/** [PROTOCOL "auth"] SCRAM server-first; a name that is not registered gets a made-up salt, so nothing tells it apart. */
export function challenge(c: Context, req: AuthRequest): Reply {
  const r = c.desk.challenge(req, c.store.accounts.get(req.userName), c.source, c.now);
  if ("code" in r) return refuse(r.code, r.message);
  return { verb: "ok", tag: req.tag, kind: "auth", userName: req.userName, serverFirst: r.serverFirst };
}

/** The account of `userName` when `proof` proves its password; the refusal otherwise. */
export function prove(c: Context, userName: string, proof: string): { acct: Account; serverFinal: string } {
  const acct = c.store.accounts.get(userName);
  const r = c.desk.verify(userName, proof, acct, c.source, c.now);
  if ("code" in r) return refuse(r.code, r.message);
  return { acct: acct!, serverFinal: r.serverFinal };
}

/** [PROTOCOL "register"] registers the name the session holds. */
export function register(c: Context, req: RegisterRequest): Reply {
  const s = auth(c);
  if (c.store.accounts.get(s.user) !== null) refuse("name-taken", `user name ${s.user} is registered already`);
  c.store.appendLocal({ kind: "acct", action: "reg", session: s.id, userName: s.user, data: regData(req.verifier, req.publicKey) }, c.now);
  return { verb: "ok", tag: req.tag, kind: "register", userName: s.user };
}

/** [PROTOCOL "password", "drop"] proven by a fresh SCRAM exchange. */
export function changeAccount(c: Context, req: AccountRequest): Reply {
  const { acct, serverFinal } = prove(c, req.userName, req.proof);
  const data = req.verb === "password" ? `${acct.reg} ${verifierData(req.verifier!)}` : acct.reg;
  const action = req.verb === "password" ? "pass" : "drop";
  c.store.appendLocal({ kind: "acct", action, session: NO_SESSION, userName: acct.name, data }, c.now);
  return { verb: "ok", tag: req.tag, kind: req.verb, userName: acct.name, serverFinal };
}

/** [PROTOCOL "pubkey"] publishes the DM key of the session's account. */
export function pubkey(c: Context, req: PublicKeyRequest): Reply {
  const s = auth(c);
  const acct = c.store.accounts.get(s.user) ?? refuse("not-allowed", "only a registered name publishes a key: /register first");
  c.store.appendLocal({ kind: "acct", action: "key", session: s.id, userName: s.user, data: `${acct.reg} ${req.publicKey}` }, c.now);
  return { verb: "ok", tag: req.tag, kind: "pubkey", userName: s.user };
}

/** [PROTOCOL "whois"] registered or not, idle time of a live session, public key, rooms in common. */
export function whois(c: Context, req: WhoisRequest): Reply {
  const s = auth(c);
  const { store, now } = c;
  const acct = store.accounts.get(req.userName);
  const holder = store.sessions.liveHolder(req.userName, now);
  if (acct === null && holder === null) refuse("no-user", `no user ${req.userName} is logged in or registered`);
  const mine = new Set(store.rooms.ofSession(s.id));
  const rooms = holder === null ? [] : store.rooms.ofSession(holder.id).filter((r) => mine.has(r)).map((r) => store.rooms.name(r) ?? r);
  const userName = acct?.name ?? holder!.user;
  const idle = holder === null ? null : Math.max(0, Math.floor((now - holder.lastActive) / 1000));
  return { verb: "ok", tag: req.tag, kind: "whois", userName, registered: acct !== null, idle, publicKey: acct?.publicKey ?? "-", rooms: rooms.slice(0, 50) };
}

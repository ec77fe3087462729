/**
 * Logging in and out (docs/PROTOCOL.md "login", "logout"): a new session
 * claims a name no live session holds, or proves a registered name's
 * password; a logout ends the session and its memberships.
 */
import { Buffer } from "node:buffer";
import type { LoginRequest, LogoutRequest, Reply } from "../wire/messages.ts";
import { sessionId } from "../rules/session_id.ts";
import { type Context, refuse } from "./context.ts";
import { auth } from "./_access.ts";
import { roomAccess } from "./direct.ts";
import { prove } from "./accounts.ts";

/** [PROTOCOL "login"] claims a name held by no live session; with a proof, a new session of the registered name. */
export function login(c: Context, req: LoginRequest): Reply {
  if (req.proof !== undefined) {
    // [PROTOCOL "login" with a proof] a new session bound to the account; other sessions of the name go on.
    const { acct, serverFinal } = prove(c, req.userName, req.proof);
    return newSession(c, req.tag, acct.name, acct.reg, serverFinal);
  }
  if (c.store.accounts.get(req.userName) !== null) {
    refuse("name-taken", `user name ${req.userName} is registered: log in with its password`);
  }
  if (c.store.sessions.liveHolder(req.userName, c.now)) {
    refuse("name-taken", `user name ${req.userName} is in use`);
  }
  return newSession(c, req.tag, req.userName);
}

/** A session for `userName`: token = 32 random bytes; its id (the token's hash) is all the server keeps. */
function newSession(c: Context, tag: string, userName: string, account?: string, serverFinal?: string): Reply {
  const token = Buffer.from(c.random(32)).toString("base64url");
  const ttl = c.sessionTtl;
  const op = { kind: "login" as const, session: sessionId(token), userName, ttl };
  c.store.appendLocal(account === undefined ? op : { ...op, account }, c.now);
  const reply = { verb: "ok" as const, tag, kind: "login" as const, userName, token, ttl };
  return serverFinal === undefined ? reply : { ...reply, serverFinal };
}

/** [PROTOCOL "logout"] ends the session and its memberships; with a reason, a quit notice in each room it is in first. */
export function logout(c: Context, req: LogoutRequest): Reply {
  const s = auth(c);
  if (req.reason !== undefined && c.leaveReasons()) {
    for (const rkey of c.store.rooms.ofSession(s.id).filter((r) => !r.startsWith("@"))) {
      const a = roomAccess(c.store, rkey, s);
      if ("name" in a) c.store.appendLocal({ kind: "leave", session: s.id, groupName: a.name, reason: req.reason, quit: true }, c.now);
    }
  }
  c.store.appendLocal({ kind: "logout", session: s.id }, c.now);
  return { verb: "ok", tag: req.tag, kind: "logout" };
}

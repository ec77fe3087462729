/**
 * The client request handlers: a dispatch table from verb to the small
 * function that answers it (one file per verb or small family, each citing
 * the docs/PROTOCOL.md clause it implements), given a narrow context
 * (lib/handlers/context.ts). Writes go into the store's open transaction;
 * the group commit commits before replies are sent. Bytes are
 * lib/wire/codec.ts's business, and remembering answers for
 * retransmissions is lib/server/answers.ts's.
 *
 * @example
 * ```ts
 * const deps = handlerDeps({ store, random: randomBytes });
 * store.begin();
 * const out = handle(deps, { verb: "login", tag: "1", userName: "bob" }, { now: Date.now(), key: "L 127.0.0.1:5000 1 bob" });
 * store.commit();
 * if ("reply" in out) send(encodeReply(out.reply));
 * ```
 */
import type { Reply, Request } from "../wire/messages.ts";
import { MAX_DATAGRAM, tokenOf } from "../wire/messages.ts";
import { sessionId } from "../rules/session_id.ts";
import { AccountDesk } from "../accounts/desk.ts";
import { PresenceBoard, type PresenceNote } from "../rules/presence.ts";
import { type Context, type HandlerDeps, type HandlerStore, type Outcome, Refusal } from "./context.ts";
import { login, logout } from "./login.ts";
import { challenge, changeAccount, pubkey, register, whois } from "./accounts.ts";
import { dms } from "./dms.ts";
import { mod, roomInfo } from "./moderation.ts";
import { connect, leave, open, rooms, who } from "./rooms.ts";
import { add } from "./add.ts";
import { request } from "./poll.ts";
import { history } from "./history.ts";
import { act } from "./act.ts";
import { search, unread } from "./search.ts";
import { typing } from "./typing.ts";
import { servers } from "./servers.ts";
import type { ServerListing } from "../wire/messages.ts";

export type { HandlerDeps, Outcome } from "./context.ts";
export { pollMany, type Waiter } from "./poll.ts";

type Handler<V extends Request["verb"]> = (c: Context, req: Extract<Request, { verb: V }>) => Reply | Outcome;

/** Which function answers each verb. */
const HANDLERS: { [V in Request["verb"]]: Handler<V> } = {
  login,
  auth: challenge,
  register,
  password: changeAccount,
  drop: changeAccount,
  pubkey,
  whois,
  dms,
  room: roomInfo,
  mod,
  open,
  connect,
  leave,
  rooms,
  who,
  logout,
  add,
  request,
  history,
  act,
  search,
  unread,
  typing,
  servers,
};

/** What a server gives its handlers, with defaults: a 300 s session lifetime, no confirmer, a random secret for made-up salts, no servers listed. */
export function handlerDeps(o: {
  store: HandlerStore;
  random: (n: number) => Uint8Array;
  sessionTtl?: number;
  confirmer?: () => string | undefined;
  /** Secret for the made-up salts of names that are not registered (the cluster key; default: random per process). */
  secret?: Uint8Array;
  /** Typing and away states (default: a board of this server's own). */
  presence?: PresenceBoard;
  presenceSaid?: (note: PresenceNote) => void;
  /** The live membership for `servers` (default: none listed). */
  members?: () => ServerListing[];
  /** Whether every peer reads a leave's reason (default: yes, as with no peers). */
  leaveReasons?: () => boolean;
}): HandlerDeps {
  return {
    store: o.store,
    random: o.random,
    sessionTtl: o.sessionTtl ?? 300,
    confirmer: o.confirmer ?? (() => undefined),
    desk: new AccountDesk({ secret: o.secret ?? o.random(32), random: o.random }),
    presence: o.presence ?? new PresenceBoard(),
    members: o.members ?? (() => []),
    leaveReasons: o.leaveReasons ?? (() => true),
    ...(o.presenceSaid ? { presenceSaid: o.presenceSaid } : {}),
  };
}

/** What the port knows of a request besides the request: its time, retransmission key, and optionally its session id, reply budget and source IP. */
export type RequestFacts = { now: number; key: string; session?: string; max?: number; source?: string };

/**
 * Answers one request that was not answered before (lib/server/answers.ts
 * checks that): a reply, or a poll to hold. A refusal is an error reply;
 * throws only on unexpected faults.
 */
export function handle(deps: HandlerDeps, req: Request, f: RequestFacts): Outcome {
  const token = tokenOf(req);
  const session = f.session ?? (token === null ? "" : sessionId(token));
  const c: Context = { ...deps, now: f.now, key: f.key, session, max: Math.min(f.max ?? MAX_DATAGRAM, MAX_DATAGRAM), source: f.source ?? "" };
  try {
    const out = (HANDLERS[req.verb] as Handler<typeof req.verb>)(c, req as never);
    return "wait" in out || "reply" in out ? out : { reply: out };
  } catch (e) {
    if (!(e instanceof Refusal)) throw e;
    return { reply: { verb: "error", tag: req.tag, code: e.code, message: e.message } };
  }
}

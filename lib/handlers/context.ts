/**
 * What a handler of one verb is given (lib/handlers/index.ts dispatches):
 * the store's reads and its one entrance for writes (`appendLocal`, in the
 * group commit's open transaction), the request's time, its session id,
 * how long its reply may be, randomness, the account desk and the choice
 * of a confirmer — and `refuse`, which ends the request with an error reply.
 * Nothing else of the server: no sockets, no clock, no other verb.
 *
 * @example
 * ```ts
 * function logout(c: Context, req: LogoutRequest): Reply {
 *   const s = auth(c, req.token);      // lib/handlers/_access.ts
 *   c.store.appendLocal({ kind: "logout", session: s.id }, c.now);
 *   return { verb: "ok", tag: req.tag, kind: "logout" };
 * }
 * ```
 */
import type { ErrorCode, Reply, ServerListing } from "../wire/messages.ts";
import type { Store } from "../store/store.ts";
import type { StoredAdd } from "../store/messages.ts";
import type { AccountDesk } from "../accounts/desk.ts";
import type { Waiter } from "./poll.ts";
import type { PresenceBoard, PresenceNote } from "../rules/presence.ts";

/** The stored copy an add's reply names: its op id, confirmer ("" for none) and text. */
export type AddedCopy = Omit<StoredAdd, "rkey">;

/**
 * What a request turns into: a reply, or a long poll to hold. An add's ok
 * comes with the copy it names, so the ack gate (lib/server/ack_gate.ts)
 * holds it without reading it back from the store.
 */
export type Outcome = { reply: Reply; copy?: AddedCopy } | { wait: Waiter };

/** What the handlers read of the store, and the one entrance for writes. */
export type HandlerStore = Pick<
  Store,
  "session" | "sessions" | "rooms" | "messages" | "accounts" | "moderation" | "conversations" | "acts" | "vector" | "membersAfter" | "uncovered" | "appendLocal" | "refresh" | "settling"
>;

/** What a server gives its handlers, once. */
export type HandlerDeps = {
  store: HandlerStore;
  /** `n` random bytes (node:crypto randomBytes in production): session tokens. */
  random: (n: number) => Uint8Array;
  /** Idle lifetime of new sessions, seconds. */
  sessionTtl: number;
  /** SCRAM challenges and proofs, and the password-guessing guard. */
  desk: AccountDesk;
  /** The server a new message names as its confirmer (two-disk acks), or undefined for none. */
  confirmer: () => string | undefined;
  /** Who is typing or away (lib/rules/presence.ts): ephemeral, in memory. */
  presence: PresenceBoard;
  /** The live servers with a client address, in servers-file order (lib/server/members.ts), for `servers`. */
  members: () => ServerListing[];
  /** A typing or away state was said here: the server passes it to its peers (ttlMs 0: the state's own). */
  presenceSaid?: (note: PresenceNote) => void;
  /**
   * Whether every peer reads a leave's reason (peer protocol version 3: the kind lines `leave why` and
   * `leave quit`, docs/PEER_PROTOCOL.md). Until then, in a rolling upgrade, `leave` and `logout` make the
   * ops of before (no reason, no quit notices), which every peer reads.
   */
  leaveReasons: () => boolean;
};

/** What one handler is given: the server's parts and the request's facts. */
export type Context = HandlerDeps & {
  /** The request's time (chat time, docs/ARCHITECTURE.md "Time"). */
  now: number;
  /** Its retransmission key (a held poll keeps it). */
  key: string;
  /** The session id of its token (lib/rules/session_id.ts), "" without one. */
  session: string;
  /** The longest reply this requester may get (lib/server/address_budget.ts); lists and polls shrink to it. */
  max: number;
  /** The requester's IP address (password guessing is counted per source). */
  source: string;
};

/** A request refused: the error reply's code and message. */
export class Refusal extends Error {
  code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** Ends the request with an error reply (lib/handlers/index.ts turns it into one). */
export function refuse(code: ErrorCode, message: string): never {
  throw new Refusal(code, message);
}

/**
 * Typed values of every DistChat datagram (docs/PROTOCOL.md and
 * docs/PEER_PROTOCOL.md). lib/wire/codec.ts turns bytes into these and back.
 */
import type { Vector } from "./vector.ts";

/** Largest datagram either side sends or accepts (docs/PROTOCOL.md). */
export const MAX_DATAGRAM = 8192;

/** Longest message text, in UTF-8 bytes once unescaped. */
export const MAX_MSG_BYTES = 2000;

/** Longest topic or kick/ban reason, in UTF-8 bytes. */
export const MAX_TOPIC_BYTES = 300;

/** waitMs values above this count as this (docs/PROTOCOL.md "request"). */
export const MAX_WAIT_MS = 30000;

/** Notices in a room's stream are entries whose text starts with this (docs/PROTOCOL.md "Notices"); clients may send only "\u0001me " and "\u0001notice ". */
export const NOTICE = "\u0001";

export const ERROR_CODES = [
  "bad-request",
  "too-large",
  "bad-name",
  "name-taken",
  "bad-token",
  "no-room",
  "room-exists",
  "not-member",
  "no-message",
  "rate-limited",
  "unavailable",
  "internal",
  // Accounts, direct messages and moderation (docs/PROTOCOL.md "Accounts"):
  "bad-password",
  "not-allowed",
  "no-user",
] as const;
export type ErrorCode = typeof ERROR_CODES[number];

// --- Requests (client -> server) -------------------------------------------

/** A login; with `proof` (the SCRAM client-final "c=biws,r=…,p=…" after `auth`), a registered name's password login. */
export type LoginRequest = { verb: "login"; tag: string; userName: string; proof?: string };

/** PBKDF2 rounds a verifier may have: fewer make it quick to brute-force offline; more let a hostile server make a client spin. */
export const MIN_ITERATIONS = 4096;
export const MAX_ITERATIONS = 10_000_000;

/** Shortest SCRAM salt `register` and `password` accept (docs/PROTOCOL.md "Accounts"). */
export const MIN_SALT_BYTES = 8;

/** A SCRAM verifier as it travels (docs/PROTOCOL.md "Accounts"): base64 fields. */
export type WireVerifier = { salt: string; iterations: number; storedKey: string; serverKey: string };

/** SCRAM step 1: the client-first-bare nonce for a name. */
export type AuthRequest = { verb: "auth"; tag: string; userName: string; nonce: string };
/** Registers the name the session holds, with its verifier and (or "-") its public DM key. */
export type RegisterRequest = { verb: "register"; tag: string; token: string; verifier: WireVerifier; publicKey: string };
/** Changes a password (`verifier`) or drops the account (null), proven by a SCRAM exchange begun with `auth`. */
export type AccountRequest = {
  verb: "password" | "drop";
  tag: string;
  userName: string;
  proof: string;
  verifier: WireVerifier | null;
};
/** Publishes the session's account public DM key. */
export type PublicKeyRequest = { verb: "pubkey"; tag: string; token: string; publicKey: string };
/** What is known of a user name. */
export type WhoisRequest = { verb: "whois"; tag: string; token: string; userName: string };
/** The session's direct conversations. */
export type DmsRequest = { verb: "dms"; tag: string; token: string };
/** A room's topic, mode and roles. */
export type RoomInfoRequest = { verb: "room"; tag: string; token: string; groupName: string };

/** Room moderation actions (docs/PROTOCOL.md "Moderation"). */
export const MOD_ACTIONS = ["op", "deop", "kick", "ban", "unban", "invite", "topic", "mode"] as const;
export type ModAction = typeof MOD_ACTIONS[number];
/** One moderation action; `target` is a user name, "-" (topic) or "+i"/"-i" (mode); `text` a topic or reason. */
export type ModRequest = { verb: "mod"; tag: string; token: string; groupName: string; action: ModAction; target: string; text: string };
/** `open`, `connect` (`key`: the room's, "mode +kKEY") or `leave` (`reason`: told in the leave notice, at most MAX_TOPIC_BYTES bytes). */
export type RoomRequest = { verb: "open" | "connect" | "leave"; tag: string; token: string; groupName: string; key?: string; reason?: string };
/** A message; `re`: the message it replies to (docs/PROTOCOL.md "Replies to a message"). */
export type AddRequest = { verb: "add"; tag: string; token: string; msg: string; groupName: string; re?: MsgId };

/** What an `act` op does to a message (lib/rules/message_acts.ts). */
export const ACT_ACTIONS = ["del", "edit", "react", "unreact", "read"] as const;
export type ActAction = typeof ACT_ACTIONS[number];

/** What a client may do to a message (docs/PROTOCOL.md "Message actions"): `react` toggles the session user's reaction. */
export const ACT_REQUESTS = ["del", "edit", "react", "read"] as const;
export type ActRequestAction = typeof ACT_REQUESTS[number];
/** An action on message `target` of a room; `text`: the new text (edit), the reaction (react), else "". */
export type ActRequest = { verb: "act"; tag: string; token: string; groupName: string; action: ActRequestAction; target: MsgId; text: string };
/**
 * Full-text search in a room, or ("*") in every room the session is a member of: best first (relevance, then
 * newest: docs/PROTOCOL.md "Search"), or with `order` "newest" newest first; `before`: the last hit, for the next page.
 */
export type SearchRequest = {
  verb: "search";
  tag: string;
  token: string;
  groupName: string;
  query: string;
  limit: number;
  before: MsgId | null;
  order?: "newest";
};
/** Most hits one `search` lists. */
export const MAX_SEARCH = 100;
/** The session's rooms with their read markers and unread counts (docs/PROTOCOL.md "Read state"). */
export type UnreadRequest = { verb: "unread"; tag: string; token: string };
/** Asks for the server's live membership (docs/PROTOCOL.md "servers"); needs no session. */
export type ServersRequest = { verb: "servers"; tag: string };

/** Ephemeral states (docs/PROTOCOL.md "Typing and away"): typing / idle in a room, away / back everywhere. */
export const PRESENCE_STATES = ["typing", "idle", "away", "back"] as const;
export type PresenceState = typeof PRESENCE_STATES[number];
/** Says (and asks) who is typing or away in a room; `text`: an away message, else "". */
export type TypingRequest = { verb: "typing"; tag: string; token: string; groupName: string; state: PresenceState; text: string };
export type PollRequest = {
  verb: "request";
  tag: string;
  token: string;
  groupName: string;
  cursor: Vector;
  waitMs: number;
  /** List notices too (docs/PROTOCOL.md "Notices"). */
  notices?: boolean;
};
export type RoomsRequest = { verb: "rooms"; tag: string; token: string; after: string | null };
export type WhoRequest = {
  verb: "who";
  tag: string;
  token: string;
  groupName: string;
  after: string | null;
};
/** Ends the session; with a `reason` (may be empty), each of its rooms gets a quit notice first. */
export type LogoutRequest = { verb: "logout"; tag: string; token: string; reason?: string };
/** The newest `limit` messages of a room, or those before `before` (docs/PROTOCOL.md "History"). */
export type HistoryRequest = {
  verb: "history";
  tag: string;
  token: string;
  groupName: string;
  limit: number;
  before: MsgId | null;
  /** List notices too (docs/PROTOCOL.md "Notices"). */
  notices?: boolean;
};

/** Most messages one `history` asks for. */
export const MAX_HISTORY = 1000;

export type Request =
  | LoginRequest
  | RoomRequest
  | AddRequest
  | PollRequest
  | RoomsRequest
  | WhoRequest
  | LogoutRequest
  | HistoryRequest
  | AuthRequest
  | RegisterRequest
  | AccountRequest
  | PublicKeyRequest
  | WhoisRequest
  | DmsRequest
  | RoomInfoRequest
  | ModRequest
  | ActRequest
  | SearchRequest
  | UnreadRequest
  | TypingRequest
  | ServersRequest;

export type RequestVerb = Request["verb"];

/** The session token a request carries, or null (login, auth, password, drop: before or without a session). */
export function tokenOf(req: Request): string | null {
  return "token" in req ? req.token : null;
}

// --- Replies (server -> client) --------------------------------------------

export type MsgId = { origin: string; n: number };

/** A direct conversation: its address ("@name") and its newest message. */
export type DmEntry = { groupName: string; last: MsgId | null };

/** What `whois` tells. `idle`: seconds since the name's live session was last active, or null when none is. */
export type WhoisReply = {
  verb: "ok";
  tag: string;
  kind: "whois";
  userName: string;
  registered: boolean;
  idle: number | null;
  publicKey: string;
  rooms: string[];
};

/** A room's moderation state; `roles`: "~name" owner, "@name" operator, "!name" banned, "+name" invited. */
export type RoomInfoReply = {
  verb: "ok";
  tag: string;
  kind: "room";
  groupName: string;
  mode: string;
  topicBy: string;
  topicAt: number;
  topic: string;
  roles: string[];
};

export type OkReply =
  | { verb: "ok"; tag: string; kind: "login"; userName: string; token: string; ttl: number; serverFinal?: string }
  | { verb: "ok"; tag: string; kind: "auth"; userName: string; serverFirst: string }
  | { verb: "ok"; tag: string; kind: "register" | "pubkey"; userName: string }
  | { verb: "ok"; tag: string; kind: "password" | "drop"; userName: string; serverFinal: string }
  | { verb: "ok"; tag: string; kind: "dms"; entries: DmEntry[] }
  | { verb: "ok"; tag: string; kind: "mod"; groupName: string; action: ModAction; target: string }
  | WhoisReply
  | RoomInfoReply
  | { verb: "ok"; tag: string; kind: "open" | "connect" | "leave"; groupName: string }
  | { verb: "ok"; tag: string; kind: "add"; msg: string; groupName: string; msgId: MsgId }
  | { verb: "ok"; tag: string; kind: "rooms"; more: boolean; names: string[] }
  | { verb: "ok"; tag: string; kind: "who"; groupName: string; more: boolean; names: string[] }
  | { verb: "ok"; tag: string; kind: "logout" }
  | HistoryReply
  | { verb: "ok"; tag: string; kind: "act"; groupName: string; action: ActRequestAction; target: MsgId }
  | { verb: "ok"; tag: string; kind: "search"; more: boolean; hits: SearchHit[] }
  | { verb: "ok"; tag: string; kind: "unread"; entries: UnreadEntry[] }
  | { verb: "ok"; tag: string; kind: "typing"; groupName: string; states: PresenceEntry[] }
  | { verb: "ok"; tag: string; kind: "servers"; servers: ServerListing[] };

/** A live server as a `servers` reply lists it: id, client address (host:port) and static public key (base64, "-": none). */
export type ServerListing = { id: string; client: string; publicKey: string };

/**
 * A message (or notice) as polls, history and search list it; a message
 * that was edited, answers another or has reactions says so
 * (docs/PROTOCOL.md "Message actions").
 */
export type PollEntry = {
  msgId: MsgId;
  userName: string;
  sentAt: number;
  msg: string;
  /** The text is its author's latest edit. */
  edited?: true;
  /** The message it replies to. */
  re?: MsgId;
  /** Reactions and how many users gave each, in code-point order. */
  reactions?: [string, number][];
};

/** A search hit: its room and the message. */
export type SearchHit = PollEntry & { groupName: string };

/** A room's read marker (the newest message read, null: none) and how many messages follow it (at most MAX_UNREAD). */
export type UnreadEntry = { groupName: string; mark: MsgId | null; unread: number };
/** Unread counts stop at this. */
export const MAX_UNREAD = 999;

/** Someone typing or away. */
export type PresenceEntry = { userName: string; state: PresenceState };

export type PollReply = {
  verb: "poll";
  tag: string;
  groupName: string;
  cursor: Vector;
  more: boolean;
  entries: PollEntry[];
};

/** A page of a room's history, oldest first; `more`: older messages exist; `cursor`: the room's live tail at this server. */
export type HistoryReply = {
  verb: "ok";
  tag: string;
  kind: "history";
  groupName: string;
  cursor: Vector;
  more: boolean;
  entries: PollEntry[];
};

export type ErrorReply = { verb: "error"; tag: string; code: ErrorCode; message: string };

export type Reply = OkReply | PollReply | ErrorReply;

// --- Server network (server <-> server) -------------------------------------

type OpHead = {
  origin: string;
  seq: number;
  /** What the origin had delivered from other servers when it made the op. */
  deps: Vector;
  /** Milliseconds since the Unix epoch at the origin. */
  at: number;
  /** SHA-256 of the session's token, hex. */
  session: string;
};

/** Account actions (lib/rules/ledger.ts): register, change password, drop, publish a DM key. */
export const ACCOUNT_ACTIONS = ["reg", "pass", "drop", "key"] as const;
export type AccountAction = typeof ACCOUNT_ACTIONS[number];

export type Op =
  /** `account`: the "origin.seq" of the registration the session proved its password for (absent: an ephemeral login). */
  | OpHead & { kind: "login"; userName: string; ttl: number; account?: string }
  | OpHead & { kind: "logout" | "touch" }
  | OpHead & { kind: "open" | "join"; groupName: string }
  /** Leaving a room; `reason` (may be absent) is told in the leave notice; `quit`: made by a logout with a reason (a quit notice). */
  | OpHead & { kind: "leave"; groupName: string; reason?: string; quit?: true }
  | OpHead & {
    kind: "msg";
    tag: string;
    groupName: string;
    userName: string;
    msg: string;
    /** The server whose disk the origin waits for before it acks (docs/ARCHITECTURE.md "Acks"); absent: none. */
    conf?: string;
    /** The message it replies to ("origin.seq"); absent: none. */
    re?: string;
  }
  /** Hides the message `target` ("origin.seq"): made only by that message's confirmer, which had another copy of it. */
  | OpHead & { kind: "hide"; target: string }
  /**
   * An account change of `userName`. `data`: reg "salt iterations storedKey serverKey publicKey";
   * pass "REG salt iterations storedKey serverKey"; drop "REG"; key "REG publicKey" (REG: the registration's "origin.seq").
   */
  | OpHead & { kind: "acct"; action: AccountAction; userName: string; data: string }
  /** A moderation action in a room by `userName` (lib/rules/moderation.ts). */
  | OpHead & { kind: "mod"; action: ModAction; groupName: string; userName: string; target: string; text: string }
  /**
   * An action of `userName` on message `target` ("origin.seq") of a room (lib/rules/message_acts.ts):
   * del, edit (text: the new text), react / unreact (text: the reaction), read (text: the account's registration).
   */
  | OpHead & { kind: "act"; action: ActAction; groupName: string; userName: string; target: string; text: string };

export type OpKind = Op["kind"];
type EachWithout<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never; // an Omit that keeps a union's kinds apart
/** An op as its maker gives it (Store.appendLocal): without origin, seq, deps and time, which the store adds. */
export type OpInput = EachWithout<Op, "origin" | "seq" | "deps" | "at">;

export type GotWords = { silent?: Vector; gotsOf?: ReadonlyMap<string, Vector> }; // what a `got` says of its sender's peers: see the `got` verb
type PeerHead = {
  from: string;
  /** "-" without a cluster key. */
  nonce: string;
};

export type PeerDatagram =
  | PeerHead & { verb: "add"; vector: Vector; ops: Op[]; got?: number } & GotWords // got (version 3): `vector` is on disk too, the sender's clock read `got`
  | PeerHead & { verb: "ask"; vector: Vector }
  /** On the sender's disk, its clock (ms: peers report skew); version 4: peers not heard for 1.5 s and how long (ms), the last `got` of some not heard lately. */
  | PeerHead & { verb: "got"; vector: Vector; at: number } & GotWords
  /** "Prove the epoch of your nonces": 32 hex digits. */
  | PeerHead & { verb: "hello"; challenge: string; version?: number }
  /** The answer to a hello, sealed with the prover's current nonce. */
  | PeerHead & { verb: "proof"; challenge: string; version?: number }
  | PeerHead & { verb: "ok"; vector: Vector; more: boolean; ops: Op[] }
  | PeerHead & { verb: "stat" }
  | PeerHead & { verb: "state"; json: string }
  /** Typing and away states (docs/PEER_PROTOCOL.md "Presence"): not ops, never stored. */
  | PeerHead & { verb: "pres"; notes: PresenceNote[] };

/** A typing or away state as servers pass it on: who, what, for how many more ms, in which rooms (room keys). */
export type PresenceNote = { userName: string; state: PresenceState; ttlMs: number; rooms: string[] };

/** Most rooms one presence note names (an away user's rooms beyond it are not told). */
export const MAX_PRESENCE_ROOMS = 100;

/** A decoded peer datagram with what its MAC covers. */
export type SignedPeerDatagram = {
  datagram: PeerDatagram;
  /** Every byte before the mac line, as text. */
  signed: string;
  /** "-" or 64 hex digits. */
  mac: string;
};

// --- Errors ----------------------------------------------------------------

/** Why a datagram could not be decoded; `tag` is "-" when it could not be read. */
export type ProtocolError = {
  code: "bad-request" | "bad-name" | "too-large";
  tag: string;
  message: string;
  /** True when the datagram must not be answered (its verb is a reply verb). */
  silent: boolean;
};

export type Result<T> = { ok: true; value: T } | { ok: false; error: ProtocolError };

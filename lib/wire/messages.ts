/**
 * Typed values of every DistChat datagram (docs/PROTOCOL.md and
 * docs/PEER_PROTOCOL.md). lib/wire/codec.ts turns bytes into these and back.
 */
import type { Vector } from "./vector.ts";

/** Largest datagram either side sends or accepts (docs/PROTOCOL.md). */
export const MAX_DATAGRAM = 8192;

/** Longest message text, in UTF-8 bytes once unescaped. */
export const MAX_MSG_BYTES = 2000;

/** waitMs values above this count as this (docs/PROTOCOL.md "request"). */
export const MAX_WAIT_MS = 30000;

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
] as const;
export type ErrorCode = typeof ERROR_CODES[number];

// --- Requests (client -> server) -------------------------------------------

export type LoginRequest = { verb: "login"; tag: string; userName: string };
export type RoomRequest = {
  verb: "open" | "connect" | "leave";
  tag: string;
  token: string;
  groupName: string;
};
export type AddRequest = { verb: "add"; tag: string; token: string; msg: string; groupName: string };
export type PollRequest = {
  verb: "request";
  tag: string;
  token: string;
  groupName: string;
  cursor: Vector;
  waitMs: number;
};
export type RoomsRequest = { verb: "rooms"; tag: string; token: string; after: string | null };
export type WhoRequest = {
  verb: "who";
  tag: string;
  token: string;
  groupName: string;
  after: string | null;
};
export type LogoutRequest = { verb: "logout"; tag: string; token: string };
/** The newest `limit` messages of a room, or those before `before` (docs/PROTOCOL.md "History"). */
export type HistoryRequest = {
  verb: "history";
  tag: string;
  token: string;
  groupName: string;
  limit: number;
  before: MsgId | null;
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
  | HistoryRequest;

export type RequestVerb = Request["verb"];

// --- Replies (server -> client) --------------------------------------------

export type MsgId = { origin: string; n: number };

export type OkReply =
  | { verb: "ok"; tag: string; kind: "login"; userName: string; token: string; ttl: number }
  | { verb: "ok"; tag: string; kind: "open" | "connect" | "leave"; groupName: string }
  | { verb: "ok"; tag: string; kind: "add"; msg: string; groupName: string; msgId: MsgId }
  | { verb: "ok"; tag: string; kind: "rooms"; more: boolean; names: string[] }
  | { verb: "ok"; tag: string; kind: "who"; groupName: string; more: boolean; names: string[] }
  | { verb: "ok"; tag: string; kind: "logout" }
  | HistoryReply;

export type PollEntry = { msgId: MsgId; userName: string; sentAt: number; msg: string };

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

export type Op =
  | OpHead & { kind: "login"; userName: string; ttl: number }
  | OpHead & { kind: "logout" | "touch" }
  | OpHead & { kind: "open" | "join" | "leave"; groupName: string }
  | OpHead & {
    kind: "msg";
    tag: string;
    groupName: string;
    userName: string;
    msg: string;
    /** The server whose disk the origin waits for before it acks (docs/ARCHITECTURE.md "Acks"); absent: none. */
    conf?: string;
  }
  /** Hides the message `target` ("origin.seq"): made only by that message's confirmer, which had another copy of it. */
  | OpHead & { kind: "hide"; target: string };

export type OpKind = Op["kind"];

type PeerHead = {
  from: string;
  /** "-" without a cluster key. */
  nonce: string;
};

export type PeerDatagram =
  | PeerHead & { verb: "add"; vector: Vector; ops: Op[] }
  | PeerHead & { verb: "ask"; vector: Vector }
  /** What the sender has committed to disk, and its clock when it sent this (ms since the epoch: peers report skew). */
  | PeerHead & { verb: "got"; vector: Vector; at: number }
  /** "Prove the epoch of your nonces": 32 hex digits. */
  | PeerHead & { verb: "hello"; challenge: string }
  /** The answer to a hello, sealed with the prover's current nonce. */
  | PeerHead & { verb: "proof"; challenge: string }
  | PeerHead & { verb: "ok"; vector: Vector; more: boolean; ops: Op[] }
  | PeerHead & { verb: "stat" }
  | PeerHead & { verb: "state"; json: string };

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

/**
 * What a chat Session (lib/client/session.ts) is given and shows: its
 * options, the `SessionUi` its output goes through (the terminal, or a test),
 * and the error of a login that retrying cannot fix.
 */
import type { MsgId, PollEntry } from "../wire/messages.ts";
import type { Surface } from "./wording.ts";

export type SessionUi = {
  /** A chat message (or notice), shown once, in the order of the room's stream. */
  message(room: string, entry: PollEntry): void;
  /** A page of older messages of `room`, oldest first, to show before those shown (`more`: still older ones exist). Without it: lines between `---` notices. */
  older?(room: string, entries: PollEntry[], more: boolean): void;
  /** A room or conversation was opened; its newest messages follow (`more`: older ones exist). */
  joined?(room: string, o: { more: boolean }): void;
  /** A room or conversation was closed: left (`why` null), or ended by the server (a ban, a kick: `why` says so). */
  left?(room: string, why: string | null): void;
  /** Where the words go: a terminal (default) or the web page (lib/client/wording.ts `surfaceWords`). */
  surface?: Surface;
  /** The UI shows the open rooms and the one typed into by itself: no notices narrate joins, leaves and switches. */
  showsRooms?: boolean;
  /** The members of a room (`/who`). Without it: one `output` line. */
  members?(room: string, names: string[]): void;
  /** Every room (`/rooms`). Without it: one `output` line. */
  roomList?(names: string[]): void;
  /** A direct conversation someone else opened with you ("@bob"), about to open. Without it: a notice (`surfaceWords` dmFrom). */
  dmArrived?(address: string): void;
  /** A status line (connection, session, confirmations). */
  notice(text: string): void;
  /**
   * A slow step the user waits for is under way (`text`: solving a login's
   * puzzle), or over (null). Without it: `text` as a notice.
   */
  working?(text: string | null): void;
  /** Something the user asked for failed. */
  error(text: string): void;
  /** Output the user asked for (/rooms, /who). */
  output(text: string): void;
  /** The room typed into changed (null: none). */
  currentRoom?(room: string | null): void;
  /**
   * A message the user sent is on its way (`text` as the user typed it): show it as pending.
   * `wire`: the request's tag and text, to send it again after a reload (lib/client/outbox.ts).
   */
  pending?(id: number, room: string, text: string, wire: { tag: string; text: string }): void;
  /** The pending message `id` was stored as `msgId` — it comes back as a message — or was given up (null). */
  settled?(id: number, msgId: MsgId | null): void;
};

export type SessionOptions = {
  userName: string;
  /** How long the server may hold a long-poll. */
  waitMs: number;
  /** Messages shown on joining a room: its newest (a screenful). Default 20. */
  historyLines?: number;
  /** Waits `ms`; tests may shorten it. */
  sleep?: (ms: number) => Promise<void>;
  /** The password of a registered name: logins then prove it (SCRAM, docs/PROTOCOL.md "Accounts"). */
  password?: string | null;
  /** Called with the SaltedPassword after each password login (the DM key is derived from it). */
  onSalted?: (salted: Uint8Array) => void;
  /** Before a direct conversation opens (its messages are shown): the app fetches the peer's key. */
  beforeConversation?: (address: string) => Promise<void>;
  /** After a room is joined and its newest messages shown (the app shows its topic). */
  afterJoin?: (room: string) => Promise<void>;
  /** The session cannot go on (its name was registered by someone else): the app says why and ends. */
  onEnded?: (why: string) => void;
  /** How often the session asks for new direct conversations, ms (default 3000; 0: never). */
  dmsEveryMs?: number;
};

/** The first login failed for a reason retrying cannot fix. */
export class LoginError extends Error {
  /** The server's code ("name-taken": the name is in use or registered; "bad-password"). */
  code: string;
  constructor(message: string, code = "") {
    super(message);
    this.name = "LoginError";
    this.code = code;
  }
}

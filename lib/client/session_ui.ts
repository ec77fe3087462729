/**
 * What a chat Session (lib/client/session.ts) is given and shows: its
 * options, the `SessionUi` its output goes through (the terminal, or a test),
 * and the error of a login that retrying cannot fix.
 */
import type { MsgId, PollEntry } from "../wire/messages.ts";

export type SessionUi = {
  /** A chat message, shown once. */
  message(room: string, entry: PollEntry): void;
  /** A status line (connection, session, confirmations). */
  notice(text: string): void;
  /** Something the user asked for failed. */
  error(text: string): void;
  /** Output the user asked for (/rooms, /who). */
  output(text: string): void;
  /** The room typed into changed (null: none). */
  currentRoom?(room: string | null): void;
  /** A message the user sent is on its way (`text` as the user typed it): show it as pending. */
  pending?(id: number, room: string, text: string): void;
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
};

/** The first login failed for a reason retrying cannot fix. */
export class LoginError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LoginError";
  }
}

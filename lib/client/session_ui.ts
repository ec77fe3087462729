/**
 * What a chat Session (lib/client/session.ts) is given and shows: its
 * options, the `SessionUi` its output goes through (the terminal, or a test),
 * and the error of a login that retrying cannot fix.
 */
import type { PollEntry } from "../wire/messages.ts";

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
};

export type SessionOptions = {
  userName: string;
  /** How long the server may hold a long-poll. */
  waitMs: number;
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

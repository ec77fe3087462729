/**
 * The kinds of text a client may write (docs/PROTOCOL.md "Notices"): plain,
 * an action ("\u0001me …") or a notice message ("\u0001notice …"); any other
 * text starting with U+0001 is a notice of the server. One home for the rule
 * the `add` and `act` handlers, search, the terminal, the web page and the
 * IRC front end apply.
 */
import { NOTICE } from "./messages.ts";

/** A message sent as a notice (IRC's NOTICE: shown, never answered by bots): this, then its text (docs/PROTOCOL.md "Notices"). */
export const NOTICE_MESSAGE = "\u0001notice ";

/** True when `text` is a message a client may write: plain, an action ("\u0001me …") or a notice message ("\u0001notice …"); false for the server's notices. */
export function isClientText(text: string): boolean {
  return !text.startsWith(NOTICE) || text.startsWith(NOTICE + "me ") || text.startsWith(NOTICE_MESSAGE);
}

/** The words of a message as search reads them: without "\u0001me " or "\u0001notice "; "" for the server's notices. */
export function messageWords(text: string): string {
  if (!text.startsWith(NOTICE)) return text;
  if (text.startsWith(NOTICE + "me ")) return text.slice(4);
  return text.startsWith(NOTICE_MESSAGE) ? text.slice(NOTICE_MESSAGE.length) : "";
}

/**
 * An invitation as the invitee is told it (docs/PROTOCOL.md "Moderation"): a message of the
 * inviter in their direct conversation, this, then the room's name. Made by the server only.
 */
export const INVITE_NOTE = "\u0001invite-to ";

/** The room an invitation message names ("\u0001invite-to ROOM"), or null for any other text. */
export function invitedTo(text: string): string | null {
  return text.startsWith(INVITE_NOTE) && text.length > INVITE_NOTE.length ? text.slice(INVITE_NOTE.length) : null;
}

// What survives a reload of this tab (sessionStorage: this tab only, gone
// when it closes): the session's name and token, the rooms it is in, and the
// lines not yet acknowledged — sent again under their own tags, so the
// cluster stores each once (lib/client/outbox.ts). Passwords and room
// passphrases are never kept. Across visits (localStorage): other users'
// DM keys as first seen, and per user the newest message read in each room.
import { nameKey } from "../lib/wire/names.ts";

const KEY = "distchat.session";

/** The kept session: { user, token, registered, rooms, current, pending: [{ room, text, shown, tag, token }] }, or null. */
export function loadSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) ?? "null");
    return s && typeof s.user === "string" && typeof s.token === "string" ? s : null;
  } catch {
    return null;
  }
}

/** Keeps `s` (null: forgets it). */
export function saveSession(s) {
  try {
    if (s === null) sessionStorage.removeItem(KEY);
    else sessionStorage.setItem(KEY, JSON.stringify(s));
  } catch {
    // Storage full or refused (private mode): the page works on, without surviving a reload.
  }
}

const KNOWN = "distchat.known-keys";

/** Other users' DM keys as first seen (trust on first use), kept across visits. */
export function loadKnownKeys() {
  try {
    return JSON.parse(localStorage.getItem(KNOWN) ?? "{}") ?? {};
  } catch {
    return {};
  }
}

export function saveKnownKeys(keys) {
  try {
    localStorage.setItem(KNOWN, JSON.stringify(keys));
  } catch {
    // as above
  }
}

/** How many rooms' read marks are kept per user (the most recently read). */
const READ_ROOMS = 200;
const readKey = (user) => `distchat.read.${nameKey(user)}`;

/** The newest message `user` read in each room and conversation ({ roomKey: sentAt ms }), kept across logins. */
export function loadRead(user) {
  try {
    const r = JSON.parse(localStorage.getItem(readKey(user)) ?? "{}");
    return r && typeof r === "object" ? r : {};
  } catch {
    return {};
  }
}

/** Keeps `read` for `user` (the most recently read rooms only). */
export function saveRead(user, read) {
  try {
    const newest = Object.entries(read).sort((a, b) => b[1] - a[1]).slice(0, READ_ROOMS);
    localStorage.setItem(readKey(user), JSON.stringify(Object.fromEntries(newest)));
  } catch {
    // as above
  }
}

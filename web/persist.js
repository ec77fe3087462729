// What survives a reload of this tab (sessionStorage: this tab only, gone
// when it closes): the session's name and token, the rooms it is in, and the
// lines not yet acknowledged — sent again under their own tags, so the
// cluster stores each once (lib/client/outbox.ts). Passwords and room
// passphrases are never kept.
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

// What the page works out for display, pure: day separators, groups of
// messages by sender, mentions, a name's colour. The words and the rules
// that the terminal shares come from the client core (lib/client/wording.ts).
import { nameShade } from "../lib/client/wording.ts";
import { nameKey } from "../lib/wire/names.ts";
import { sanitize } from "../lib/wire/safe_text.ts";

/** Messages of one sender within this many ms of each other share one header. */
const GROUP_MS = 5 * 60_000;
/** Name colours (style.css .nick-0 … .nick-9: ten hues 30–40° apart, each ≥ 4.5:1 on every background, light and dark). */
export const NICK_COLOURS = 10;

/** The class of `name`'s colour: the same shade the terminal picks its colour with. */
export const nickClass = (name) => `nick-${nameShade(name, NICK_COLOURS)}`;

/** Text as the page shows it: control and bidirectional characters made visible (line breaks kept). */
export const visible = (text) => sanitize(text, true);

const dayKey = (ms) => new Date(ms).toDateString();

/** "Today", "Yesterday", or the date, for a day separator. */
export function dayLabel(ms, now = Date.now()) {
  if (dayKey(ms) === dayKey(now)) return "Today";
  if (dayKey(ms) === dayKey(now - 86_400_000)) return "Yesterday";
  return new Date(ms).toLocaleDateString([], { weekday: "long", year: "numeric", month: "long", day: "numeric" });
}

/** HH:MM in the reader's time zone. */
export const timeLabel = (ms) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

/** Whether `text` mentions `me` (the name as a word, with or without @; case-insensitive as names compare). */
export function mentions(text, me) {
  if (!me) return false;
  const folded = nameKey(text);
  const name = nameKey(me);
  let at = folded.indexOf(name);
  while (at >= 0) {
    const before = folded[at - 1] ?? " ", after = folded[at + name.length] ?? " ";
    if (!/[a-z0-9_.-]/.test(before === "@" ? " " : before) && !/[a-z0-9_-]/.test(after)) return true;
    at = folded.indexOf(name, at + 1);
  }
  return false;
}

/**
 * The blocks a room's items show as, oldest first: a day separator where the
 * day changes, a notice on its own, and messages grouped by sender (one
 * header: name and time) while the same sender writes within five minutes.
 * `items`: { key, user, at, kind: "message" | "action" | "notice" | "pending" }.
 */
export function blocks(items, now = Date.now()) {
  const out = [];
  let day = null, group = null;
  for (const it of items) {
    if (dayKey(it.at) !== day) {
      day = dayKey(it.at);
      out.push({ type: "day", key: `day ${day}`, label: dayLabel(it.at, now) });
      group = null;
    }
    if (it.kind === "notice" || it.kind === "action") {
      out.push({ type: it.kind, key: it.key, item: it });
      group = null;
      continue;
    }
    const last = group?.items.at(-1);
    if (group && nameKey(group.user) === nameKey(it.user) && it.at - last.at < GROUP_MS) group.items.push(it);
    else {
      group = { type: "group", key: `g ${it.key}`, user: it.user, at: it.at, items: [it] };
      out.push(group);
    }
  }
  return out;
}

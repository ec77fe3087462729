// The page's face of the client core: the ChatUi (lib/client/chat.ts) that
// turns what the client says into changes of the one store (web/store.js).
// Pure bookkeeping of rooms, messages, pending lines, unread counts and
// mentions; the components draw it.
import { isServerNotice, noticeText, surfaceWords } from "../lib/client/wording.ts";
import { nameKey } from "../lib/wire/names.ts";
import { mentions, visible } from "./format.js";

const idText = (m) => `${m.origin}.${m.n}`;
/** Messages kept per room in the page (older ones come back with "Load older messages"). */
const KEEP = 2000;

/** A new room's state. */
export function newRoom(name) {
  return {
    key: nameKey(name),
    name,
    dm: name.startsWith("@"),
    items: [],
    pending: [],
    more: false,
    unread: 0,
    mentions: 0,
    topic: "",
    topicBy: "",
    mode: "",
    roles: [],
    members: null,
    sealed: false,
    joining: false, // kept across a reload, not yet joined again (no server has answered yet)
    // The read marker as the server keeps it for the account (docs/PROTOCOL.md "Read state"): the "new messages" line goes after it.
    mark: null,
    typing: [],
  };
}

/**
 * The state with the rooms and conversations a reload kept (`names`), shown
 * at once as being joined again — before any server answers, so a reload
 * while none does loses none of them — and `current` the one typed into.
 */
export function keptRooms(state, names, current) {
  let s = state;
  for (const name of names) s = withRoom(addRoom(s, name), nameKey(name), (r) => (r.items.length ? r : { ...r, joining: true }));
  const key = current === null || current === undefined ? null : nameKey(current);
  return key !== null && s.rooms[key] ? { ...s, current: key } : s;
}

/** What an entry shows as: a message, a /me action or a server notice, with its text. */
export function itemOf(entry, view, me) {
  const base = { key: idText(entry.msgId), user: entry.userName, at: entry.sentAt };
  const said = view.kind === "plain" || view.kind === "sealed" ? view.text : "";
  if (said.startsWith("\u0001")) {
    return { ...base, kind: isServerNotice(said) ? "notice" : "action", text: visible(noticeText(entry.userName, said) ?? said) };
  }
  const text = view.kind === "plain" && view.marked ? `[plain] ${view.text}` : view.text;
  const mine = nameKey(entry.userName) === nameKey(me ?? "");
  const facts = {
    edited: entry.edited === true,
    reactions: entry.reactions ?? [],
    re: entry.re ? idText(entry.re) : null,
    quote: view.quote ? { user: view.quote.user, text: visible(view.quote.text) } : null,
  };
  return { ...base, ...facts, kind: "message", view: view.kind, text: visible(text), mine, mention: !mine && view.kind !== "locked" && mentions(view.text, me) };
}

/** Item `it` after a change of its message (lib/client/message_acts.ts MessageChange). */
export function changedItem(it, c, me) {
  if (c.kind === "deleted") return { ...it, deleted: true, text: "message deleted", edited: false, reactions: [], mention: false, quote: null };
  if (c.kind === "reactions") return { ...it, reactions: c.reactions };
  return { ...it, text: visible(c.text), edited: true, mention: !it.mine && mentions(c.text, me) };
}

/**
 * Room `r` once our line `id` was acknowledged as `acked` (null: refused, the
 * error said so). A line shown before its ack loses its "sending…" mark; if
 * the cluster kept another copy of it (a failover), that copy replaces it.
 * A pending line waits for its message, then goes.
 */
export function settle(r, id, acked) {
  const marked = r.items.find((i) => i.unconfirmed === id);
  let items = r.items, pending = r.pending.filter((p) => p.id !== id);
  if (marked) {
    items = items.flatMap((i) => (i !== marked ? [i] : i.key === acked ? [{ ...i, unconfirmed: undefined }] : []));
    if (acked !== null && marked.key !== acked && !items.some((i) => i.key === acked)) {
      pending = [...pending, { key: `p${id}`, id, user: marked.user, at: marked.at, text: marked.text, msgId: acked }];
    }
    return { ...r, items, pending };
  }
  const was = r.pending.find((p) => p.id === id);
  if (was && acked !== null && !items.some((i) => i.key === acked)) pending = [...pending, { ...was, msgId: acked }];
  return was ? { ...r, items, pending } : r;
}

/** The state with room `name` in it (added last when it is new). */
function addRoom(state, name) {
  const key = nameKey(name);
  return state.rooms[key] ? state : { ...state, rooms: { ...state.rooms, [key]: newRoom(name) }, order: [...state.order, key] };
}

/** Replaces room `key` with f(room) (if it is there). */
export function withRoom(state, key, f) {
  const room = state.rooms[key];
  const next = room && f(room);
  return room && next !== room ? { ...state, rooms: { ...state.rooms, [key]: next } } : state;
}

/**
 * A room's unread count from the server's (`counted`: after the account's
 * read marker) and what this page read (`lastRead`, kept across reloads).
 * Unread messages are the newest ones: once a loaded message is read here,
 * every unread one is loaded and counted here, and the lower count wins —
 * the server's when another device read further, this page's when its own
 * marker has not reached the server yet (it moves a few seconds after
 * reading, and a reload can come first).
 */
export function unreadOf(room, counted, lastRead) {
  const messages = room.items.filter((i) => i.kind === "message");
  if (!messages.some((i) => i.at <= lastRead)) return counted;
  return Math.min(counted, messages.filter((i) => !i.mine && i.at > lastRead).length);
}

/**
 * The ChatUi of the page. `hooks`: `mention(room, item)` (a desktop
 * notification), `roomChanged(room, notice)` (a join, leave or moderation:
 * the member list may be stale), `persist()` (the session changed),
 * `lastRead(key)` and `read(key, at)` (the newest message read in a room,
 * kept across logins: older ones do not count as unread),
 * `askPassphrase(room)` (the dialog; resolves with the passphrase or null),
 * `accountForm(what)`.
 */
export function pageUi(store, hooks) {
  const set = (f) => store.update(f);
  const me = () => store.get().me;
  const toast = (text, error) => set((s) => ({ ...s, toast: { text, error, at: Date.now() } }));
  return {
    hints: "command",
    surface: "page",
    showsRooms: true,
    show(room, entry, view) {
      let item = itemOf(entry, view, me());
      const key = nameKey(room);
      set((s) => {
        const r = s.rooms[key];
        if (!r || r.items.some((i) => i.key === item.key)) return s;
        // One of our lines, listed before its ack (a server lists what it stored, then waits for a second
        // disk): it takes the place of its pending line and stays marked "sending…" until the ack.
        const mine = item.kind !== "notice" && nameKey(item.user) === nameKey(s.me ?? "") ? r.pending.find((p) => (p.msgId ?? item.key) === item.key && p.text === item.text) : undefined;
        if (mine && mine.msgId === null) item = { ...item, unconfirmed: mine.id };
        const away = s.current !== key || document.hidden;
        const counts = item.kind === "message" && away && nameKey(item.user) !== nameKey(s.me ?? "") && item.at > hooks.lastRead(key);
        const topic = /^\u0001topic - /.test(entry.msg) ? { topic: entry.msg.slice(9), topicBy: entry.userName } : {};
        return withRoom(s, key, (r) => ({
          ...r,
          ...topic,
          items: [...r.items, item].slice(-KEEP),
          pending: r.pending.filter((p) => p !== mine && p.msgId !== item.key),
          unread: r.unread + (counts ? 1 : 0),
          mentions: r.mentions + (counts && item.mention ? 1 : 0),
        }));
      });
      if (store.get().current === key && !document.hidden) hooks.read(key, item.at);
      else if (item.mention && item.at > hooks.lastRead(key)) hooks.mention(room, item);
      if (item.kind === "notice") hooks.roomChanged(room, entry.msg);
    },
    showOlder(room, shown, more) {
      const key = nameKey(room);
      set((s) =>
        withRoom(s, key, (r) => {
          const known = new Set(r.items.map((i) => i.key));
          const older = shown.map((m) => itemOf(m.entry, m.view, s.me)).filter((i) => !known.has(i.key));
          return { ...r, items: [...older, ...r.items], more, loadingOlder: false };
        })
      );
    },
    reopened(room, shown) {
      const fresh = new Map(shown.map((m) => [idText(m.entry.msgId), itemOf(m.entry, m.view, me())]));
      set((s) => withRoom(s, nameKey(room), (r) => ({ ...r, items: r.items.map((i) => fresh.get(i.key) ?? i) })));
    },
    joined(room, { more }) {
      set((s) => withRoom(addRoom(s, room), nameKey(room), (r) => ({ ...r, name: room, more, joining: false })));
      hooks.persist();
    },
    left(room, why) {
      const key = nameKey(room);
      set((s) => {
        const rooms = { ...s.rooms };
        delete rooms[key];
        return { ...s, rooms, order: s.order.filter((k) => k !== key) };
      });
      if (why) toast(why, true);
      hooks.persist();
    },
    currentRoom(room) {
      const key = room === null ? null : nameKey(room);
      set((s) => withRoom({ ...s, current: key, drawerOpen: false }, key, (r) => ({ ...r, unread: 0, mentions: 0 })));
      const items = key === null ? [] : store.get().rooms[key]?.items ?? [];
      if (items.length) hooks.read(key, items.at(-1).at);
      hooks.persist();
    },
    notice: (text) => toast(text, false),
    // A conversation a reload kept is listed already (being joined again): nothing new to say.
    dmArrived: (address) => !store.get().rooms[nameKey(address)] && toast(surfaceWords.page.dmFrom(address.slice(1)), false),
    // A login's puzzle: the login and account screens show it while it lasts; the chat screen as a notice.
    working(text) {
      set((s) => ({ ...s, working: text }));
      if (text !== null && store.get().screen === "chat") toast(text, false);
    },
    error: (text) => (store.get().screen === "account" ? set((s) => ({ ...s, accountError: text })) : toast(text, true)),
    output: (text) => set((s) => ({ ...s, output: [...(s.output ?? []), text] })),
    // Search hits and mentions: listed under the search box (web/ui/search.js).
    hits: (what, hits, more) => set((s) => ({ ...s, search: { what, query: s.searchQuery ?? "", hits, more } })),
    link: (text) => set((s) => ({ ...s, link: { ...s.link, text, at: Date.now() } })),
    status: (st) => set((s) => ({ ...s, link: { ...s.link, state: st.state, server: st.server } })),
    pending(id, room, text) {
      const key = nameKey(room);
      const shown = visible(text.startsWith("\u0001") ? noticeText(me(), text) ?? text : text);
      // (A line kept across a reload is queued again before its room is joined: the room shows it from the start.)
      set((s) => withRoom(addRoom(s, room), key, (r) => ({ ...r, pending: [...r.pending, { key: `p${id}`, id, user: s.me, at: Date.now(), text: shown, msgId: null }] })));
      hooks.persist();
    },
    settled(id, msgId) {
      const acked = msgId === null ? null : idText(msgId);
      set((s) => {
        const rooms = {};
        for (const [k, r] of Object.entries(s.rooms)) rooms[k] = settle(r, id, acked);
        return { ...s, rooms };
      });
      hooks.persist();
    },
    changed(room, c) {
      const key = idText(c.target);
      set((s) => withRoom(s, nameKey(room), (r) => ({ ...r, items: r.items.map((i) => (i.key === key && !i.deleted ? changedItem(i, c, s.me) : i)) })));
    },
    unread(entries) {
      set((s) => {
        let next = s;
        for (const e of entries) {
          const mark = e.mark ? idText(e.mark) : null;
          next = withRoom(next, nameKey(e.groupName), (r) => {
            const unread = s.current === r.key ? 0 : unreadOf(r, e.unread, hooks.lastRead(r.key));
            return r.unread === unread && (r.mark ?? mark) === r.mark ? r : { ...r, mark: r.mark ?? mark, unread };
          });
        }
        return next;
      });
    },
    // (Unchanged states leave the store as it is: no re-render every few seconds.)
    presence: (room, states) =>
      set((s) => withRoom(s, nameKey(room), (r) => (JSON.stringify(r.typing) === JSON.stringify(states) ? r : { ...r, typing: states }))),
    // What is shown in the open room of a visible page is read (the read marker follows it).
    reads: (room) => store.get().current === nameKey(room) && !document.hidden,
    members: (room, names) => set((s) => withRoom({ ...s, membersOpen: true }, nameKey(room), (r) => ({ ...r, members: names }))),
    roomList: (names) => set((s) => ({ ...s, allRooms: names, drawerOpen: true })),
    roomInfo: (info) =>
      set((s) => withRoom(s, nameKey(info.groupName), (r) => ({ ...r, topic: info.topic, topicBy: info.topicBy, mode: info.mode, roles: info.roles }))),
    sealed: (room, on) => set((s) => withRoom(s, nameKey(room), (r) => ({ ...r, sealed: on }))),
    accountForm: (what) => hooks.accountForm(what),
    askSecret: (ask) => (ask.kind === "passphrase" ? hooks.askPassphrase(ask.room) : Promise.resolve(null)),
  };
}

// What the page does: logging in (or carrying on after a reload), the
// actions its controls call, and what it keeps across a reload. Everything
// about the chat itself is the client core's (lib/client/chat.ts), the same
// code the terminal client runs; this file only wires it to the store.
import { ChatClient } from "../lib/client/chat.ts";
import { parseLine } from "../lib/client/commands.ts";
import { parseMsgId } from "../lib/client/message_acts.ts";
import { LoginError } from "../lib/client/session_ui.ts";
import { keyMemory } from "../lib/client/social.ts";
import { webTransport } from "../lib/client/web_transport.ts";
import { nameKey, roomNameProblem, userNameProblem } from "../lib/wire/names.ts";
import { keptRooms, pageUi, withRoom } from "./page_ui.js";
import { loadKnownKeys, loadRead, loadSession, saveKnownKeys, saveRead, saveSession } from "./persist.js";
import { messageActions } from "./message_actions.js";
import { searchActions } from "./search_actions.js";
import { sayReloaded, watchServers } from "./server_watch.js";

/** How long a server may hold a poll. */
const WAIT_MS = 25_000;
/** Messages shown on opening a room, and per "Load older messages". */
const PAGE = 50;

export const initialState = {
  screen: "login", // login | chat | account
  loginName: "",
  loginNote: "",
  loginError: "",
  busy: false,
  working: null, // what a slow step says while it lasts (solving a login's puzzle)
  account: null, // register | password | unregister, on the account screen
  accountError: "",
  me: null,
  registered: false,
  link: { state: "connecting", server: "", text: "", at: 0 },
  toast: null,
  output: null,
  rooms: {},
  order: [],
  current: null,
  allRooms: null,
  drawerOpen: false,
  membersOpen: false,
  passphrase: null, // { room } while its dialog is open
  compose: null, // { mode: "reply" | "edit", room, id, user, text } while the composer answers or edits a message
  search: null, // { what: "search" | "mentions", query, hits, more } while search results are shown
  notify: typeof Notification === "undefined" ? "unsupported" : Notification.permission,
};

/** The room the page's address names (`…/#lobby`: npm start prints it), or null. */
function roomInUrl() {
  let name = "";
  try {
    name = decodeURIComponent(location.hash.slice(1)).trim();
  } catch {
    return null;
  }
  return name !== "" && roomNameProblem(name) === null ? name : null;
}

/** Shows `name` (a room; null: none) in the page's address, so a reload or a bookmark comes back to it. */
function showRoomInUrl(name) {
  const hash = name === null ? "" : `#${encodeURIComponent(name)}`;
  if (location.hash !== hash) history.replaceState(null, "", `${location.pathname}${location.search}${hash}`);
}

/** The servers to fail over along: this page's own first, then the others in servers.txt order. */
async function loadServers() {
  const self = { id: "", web: location.origin };
  try {
    const res = await fetch("/servers.json", { cache: "no-store" });
    const { servers } = await res.json();
    const i = servers.findIndex((s) => s.web === location.origin);
    if (i < 0) return [self, ...servers];
    return [...servers.slice(i), ...servers.slice(0, i)].map((s) => ({ id: s.id, web: s.web }));
  } catch {
    return [self];
  }
}

/** `drafting()`: whether anything is typed in a composer (a reload would lose it). */
export function createController(store, { drafting = () => false } = {}) {
  const set = (f) => store.update(f);
  let chat = null;
  let servers = null;
  let stopWatch = () => {};
  let passphraseAnswer = null;
  let membersTimer = 0;
  /** The newest message read per room (at, ms), this user's, kept in localStorage across logins. */
  let read = {};
  let lastTyping = 0;
  let presenceTimer = 0;
  /** Says who is typing in the open room every few seconds, and reads the unread counts every 30 s (they follow the account). */
  const startPresence = () => {
    clearInterval(presenceTimer);
    let ticks = 0;
    presenceTimer = setInterval(() => {
      const s = store.get();
      const room = s.rooms[s.current];
      if (!chat || s.screen !== "chat") return;
      if (room && !document.hidden && Date.now() - lastTyping > 6000) void chat.acts.presence(room.name, "idle");
      if (++ticks % 10 === 0) void chat.acts.unread(true);
    }, 3000);
  };
  const persist = () => {
    const s = store.get();
    if (!chat || !chat.session.token || s.screen === "login") return;
    const current = s.current === null ? null : s.rooms[s.current] ?? null;
    if (current === null || !current.dm) showRoomInUrl(current?.name ?? null);
    saveSession({
      user: chat.userName,
      token: chat.session.token,
      registered: s.registered,
      rooms: s.order.map((k) => s.rooms[k]?.name).filter(Boolean),
      current: s.current === null ? null : s.rooms[s.current]?.name ?? null,
      pending: chat.session.unsentItems.map((m) => ({ ...m, token: m.token ?? chat.session.token })),
    });
  };

  const ui = pageUi(store, {
    persist: () => queueMicrotask(persist),
    lastRead: (key) => read[key] ?? 0,
    read(key, at) {
      if (chat === null || !(at > (read[key] ?? 0))) return;
      read = { ...read, [key]: at };
      saveRead(chat.userName, read);
    },
    mention(room, item) {
      const s = store.get();
      if (s.notify !== "granted" || (!document.hidden && s.current === nameKey(room))) return;
      try {
        new Notification(`${item.user} mentioned you in ${room}`, { body: item.text.slice(0, 200), tag: `distchat-${nameKey(room)}` });
      } catch {
        // Some browsers only notify from a service worker: the title still counts the mention.
      }
    },
    roomChanged(room) {
      const s = store.get();
      if (!s.membersOpen || s.current !== nameKey(room)) return;
      clearTimeout(membersTimer);
      membersTimer = setTimeout(() => void chat?.session.who(room), 300);
    },
    askPassphrase: (room) =>
      new Promise((resolve) => {
        passphraseAnswer = resolve;
        set((s) => ({ ...s, passphrase: { room } }));
      }),
    accountForm: (what) => set((s) => ({ ...s, screen: "account", account: what, accountError: "" })),
  });

  async function start(userName, password) {
    read = loadRead(userName); // before the first login: conversations open (and count unread) as soon as it succeeds
    servers ??= await loadServers();
    const known = loadKnownKeys();
    return await ChatClient.open({
      servers,
      transport: webTransport(),
      ui,
      userName,
      waitMs: WAIT_MS,
      historyLines: PAGE,
      password,
      known: keyMemory(known, saveKnownKeys),
      onEnded: (why) => void endSession(why),
    });
  }

  /**
   * The chat screen, in the rooms `kept` lists (a reload), with its lines not
   * yet acknowledged sent again; then in the room the page's address names
   * (`#lobby`), joined (made when there is none) unless the page is in it.
   */
  async function enter(kept) {
    set((s) => ({ ...s, screen: "chat", busy: false, me: chat.userName, loginError: "", loginNote: "" }));
    if (kept) {
      // The lines not yet acknowledged first, under their own tags and tokens (stored once), then the rooms:
      // listed at once, and kept, though no server answers yet; joined again as soon as one does.
      chat.session.restore(kept.pending ?? []);
      set((s) => keptRooms(s, kept.rooms, kept.current));
      persist();
      // Joined without being made the room typed into: the screen stays on the room it shows (kept.current) throughout.
      for (const room of kept.rooms) {
        if (room.startsWith("@")) await chat.session.conversation(room, false);
        else if (!(await chat.session.join(room, { focus: false })) && chat !== null) ui.left(room, null); // refused (a ban): the error said why
      }
      if (kept.current && chat !== null) chat.session.switchTo(kept.current);
    }
    const wanted = roomInUrl();
    if (wanted !== null && chat !== null && !store.get().rooms[nameKey(wanted)]) await chat.session.join(wanted);
    persist();
    void chat.acts.unread(true);
    startPresence();
    watch();
  }

  /** Follows the server list while the session lasts (web/server_watch.js). */
  function watch() {
    stopWatch();
    stopWatch = watchServers({ store, chat: () => chat, loaded: servers.map((s) => s.id), drafting, notice: ui.notice, beforeReload: persist });
    sayReloaded(ui.notice);
  }

  async function endSession(why) {
    clearInterval(presenceTimer);
    stopWatch();
    saveSession(null);
    const name = chat?.userName ?? "";
    await chat?.conn.close();
    chat = null;
    store.update(() => ({ ...initialState, notify: store.get().notify, loginName: name, loginError: why ?? "" }));
  }

  const actions = {
    /** On page load: carry on with the session this tab kept, or show the login screen. */
    async boot() {
      const kept = loadSession();
      if (!kept) return;
      if (kept.registered) {
        // Its password is needed again (it is never kept): the lines wait for the login.
        const n = kept.pending?.length ?? 0;
        set((s) => ({ ...s, loginName: kept.user, loginNote: `Enter your password to carry on${n ? ` (${n} message${n === 1 ? "" : "s"} not sent yet are kept)` : ""}.` }));
        return;
      }
      chat = await start(kept.user, null);
      chat.session.resume(kept.token);
      await enter(kept);
    },

    async login(name, password) {
      const problem = userNameProblem(name);
      if (problem) return set((s) => ({ ...s, loginError: problem }));
      set((s) => ({ ...s, busy: true, loginError: "", loginName: name }));
      const kept = loadSession();
      try {
        chat = await start(name, password === "" ? null : password);
        await chat.login();
      } catch (e) {
        await chat?.conn.close();
        chat = null;
        const text = e instanceof LoginError ? e.message : `cannot log in: ${e.message}`;
        return set((s) => ({ ...s, busy: false, loginError: text }));
      }
      set((s) => ({ ...s, registered: chat.social.registered }));
      await enter(kept && nameKey(kept.user) === nameKey(name) ? kept : null);
    },

    async logout() {
      if (!chat) return;
      set((s) => ({ ...s, busy: true }));
      await chat.quit(5000);
      await endSession(null);
    },

    select(key) {
      const room = store.get().rooms[key];
      if (room?.joining) set((s) => ({ ...s, current: key })); // the core types into it once it is joined again
      else if (room) chat?.session.switchTo(room.name);
      set((s) => ({ ...s, drawerOpen: false, compose: null }));
      // What the room shows is read now: the marker moves to its newest message.
      const last = room?.items.at(-1);
      if (last) chat?.markRead(room.name, parseMsgId(last.key));
    },

    /** Joins room `name`, making it when there is none (the core's /join). */
    async join(name) {
      await chat?.session.join(name);
    },

    async openConversation(user) {
      const problem = userNameProblem(user);
      if (problem) return ui.error(problem);
      if (nameKey(user) === nameKey(chat.userName)) return ui.error("that is you: a direct conversation needs another user");
      await chat.session.conversation(`@${user}`, true);
    },

    leave: (key) => chat?.session.leave(store.get().rooms[key]?.name ?? null),

    /** A line from the composer: true when it was taken (sent, queued or run), false to keep it in the box. */
    async send(text) {
      if (!chat || text.trim() === "") return false;
      const compose = store.get().compose;
      const here = store.get().rooms[store.get().current];
      if (compose && here && compose.room === here.key && !text.startsWith("/")) {
        set((s) => ({ ...s, compose: null }));
        if (compose.mode === "edit") {
          const done = await chat.acts.edit(here.name, parseMsgId(compose.id), text);
          if (!done) set((s) => ({ ...s, compose }));
          return done;
        }
        return await chat.sayTo(here.name, text, text, parseMsgId(compose.id));
      }
      const c = parseLine(text);
      if (c.kind === "quit") return (await actions.logout(), true);
      if (c.kind === "say" || c.kind === "me") {
        const line = c.kind === "me" ? `\u0001me ${c.text}` : c.text;
        // To the room on the screen, not the core's current one: after a reload they may differ until every kept room is joined again.
        return here ? await chat.sayTo(here.name, line) : await chat.say(line);
      }
      if (c.kind === "msg") {
        await chat.session.conversation(`@${c.user}`, false);
        return await chat.sayTo(`@${c.user}`, c.text);
      }
      if (c.kind === "invalid") return (ui.error(c.message), false);
      if (c.kind === "help" || c.kind === "whois" || c.kind === "mode" || (c.kind === "topic" && c.text === null)) set((s) => ({ ...s, output: [] }));
      void chat.run(c);
      return true;
    },

    /** The user is typing in the open room: said at most every 3 s. */
    typing() {
      const s = store.get();
      const room = s.rooms[s.current];
      if (!chat || !room || Date.now() - lastTyping < 3000) return;
      lastTyping = Date.now();
      void chat.acts.presence(room.name, "typing");
    },

    /** The byte limit of what is typed into the current room. */
    limit: () => chat?.limitOf(store.get().rooms[store.get().current]?.name ?? null) ?? 2000,

    loadOlder(key) {
      const room = store.get().rooms[key];
      if (!room || room.loadingOlder) return;
      const loading = (on) => set((s) => withRoom(s, key, (r) => ({ ...r, loadingOlder: on })));
      loading(true);
      void chat.session.history(PAGE, room.name).finally(() => loading(false));
    },

    toggleMembers() {
      const s = store.get();
      const room = s.rooms[s.current];
      if (s.membersOpen) return set((st) => ({ ...st, membersOpen: false }));
      set((st) => ({ ...st, membersOpen: true }));
      if (room && !room.dm) void chat.session.who(room.name);
    },
    closeMembers: () => set((s) => ({ ...s, membersOpen: false })),
    toggleDrawer: (open) => set((s) => ({ ...s, drawerOpen: open ?? !s.drawerOpen })),
    listRooms: () => chat?.session.listRooms(),
    passphrase: (room) => chat?.run({ kind: "key", room }),
    answerPassphrase(value) {
      set((s) => ({ ...s, passphrase: null }));
      passphraseAnswer?.(value);
      passphraseAnswer = null;
    },
    forgetPassphrase(room) {
      actions.answerPassphrase(null);
      chat?.forgetPassphrase(room);
    },

    openAccount: (what) => set((s) => ({ ...s, screen: "account", account: what, accountError: "" })),
    closeAccount: () => set((s) => ({ ...s, screen: "chat", account: null, accountError: "" })),
    /** The account form: the new password typed twice, the current one for a change or a drop. */
    async submitAccount(what, { current, fresh, again }) {
      if (what !== "unregister" && fresh.length < 8) return set((s) => ({ ...s, accountError: "a password needs at least 8 characters" }));
      if (what !== "unregister" && fresh !== again) return set((s) => ({ ...s, accountError: "the two passwords differ" }));
      set((s) => ({ ...s, busy: true, accountError: "" }));
      const done = what === "register"
        ? await chat.social.register(fresh)
        : what === "password"
        ? await chat.social.changePassword(current, fresh)
        : await chat.social.unregister(current);
      set((s) => ({ ...s, busy: false }));
      if (!done) return;
      set((s) => ({ ...s, registered: chat.social.registered, screen: "chat", account: null }));
      persist();
    },

    async enableNotifications() {
      if (typeof Notification === "undefined") return;
      const answer = await Notification.requestPermission();
      set((s) => ({ ...s, notify: answer }));
    },
    dismissToast: () => set((s) => ({ ...s, toast: null })),
    dismissOutput: () => set((s) => ({ ...s, output: null })),
    ...messageActions(store, () => chat, ui),
    ...searchActions(store, () => chat, () => actions),
  };

  /** What the page knows, read-only, for tests and the curious (globalThis.distchat). */
  const inspect = {
    get server() {
      return chat?.conn.server.id ?? null;
    },
    get servers() {
      return chat ? chat.conn.servers.map((s) => s.id) : [];
    },
    /** "websocket" or "http": how the page reaches its server now. */
    get transport() {
      return chat?.conn.via ?? null;
    },
    get status() {
      return chat?.conn.status ?? null;
    },
    shown: (room) => store.get().rooms[nameKey(room)]?.items.filter((i) => i.kind === "message").map((i) => i.key) ?? [],
    /** Lines of ours not yet acknowledged (pending, or shown and marked "sending…"). */
    pending: (room) => {
      const r = store.get().rooms[nameKey(room)];
      return r ? r.pending.length + r.items.filter((i) => i.unconfirmed !== undefined).length : 0;
    },
    /** What the page shows of a room, one line per message ("user: text"; notices and actions "* …"). */
    lines: (room) => store.get().rooms[nameKey(room)]?.items.map((i) => (i.kind === "message" ? `${i.user}: ${i.view === "sealed" ? "🔒 " : ""}${i.text}` : i.text)) ?? null,
  };

  return { actions, inspect };
}

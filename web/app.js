// The DistChat web client: the client protocol of docs/PROTOCOL.md over the
// web transport (POST /dc), with the terminal client's guarantees: every
// request is resent with the same tag until answered; after three failed
// sends it moves to the next server's web URL (servers.json) with the same
// token and cursors, so no line is lost or shown twice. Received text only
// ever reaches the page as textContent.
import { escapeText, parseMsgId, parseReply, requestText, visible } from "./protocol.js";
import { isSealed, RoomKeys } from "./seal.js";

const $ = (id) => document.getElementById(id);
const WAIT_MS = 25_000;
const PAGE = 50;
const SEND_TIMEOUTS = [1500, 3000, 5000];
const FAILS_BEFORE_SWITCH = 3;

const rand = (n) => Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[b & 63]).join("");

const state = {
  /** Web URLs to fail over along, this page's server first. */
  servers: [location.origin],
  ids: [""],
  at: 0,
  fails: 0,
  clientId: rand(22),
  tagNo: 0,
  user: null,
  token: null,
  /** folded room name → room */
  rooms: new Map(),
  current: null,
  keys: new RoomKeys(),
  pendingNo: 0,
  loggedOut: false,
};

const fold = (s) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());
const tag = () => (++state.tagNo).toString(36);

// --- Status -----------------------------------------------------------------

let statusTimer = 0;
function status(text, ms = 6000) {
  $("status").textContent = text;
  clearTimeout(statusTimer);
  if (ms > 0) statusTimer = setTimeout(() => ($("status").textContent = ""), ms);
}

// --- Transport --------------------------------------------------------------

/** One POST of a datagram (the fallback transport): its reply text, or null when the server had no answer (204). */
async function post(base, text, timeoutMs) {
  const res = await fetch(`${base}/dc`, {
    method: "POST",
    headers: { "X-DistChat-Client": state.clientId, "Content-Type": "text/plain;charset=utf-8" },
    body: text,
    signal: AbortSignal.timeout(timeoutMs),
    cache: "no-store",
  });
  if (res.status === 204) return null;
  if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
  return await res.text();
}

/**
 * The way to one server: a WebSocket (each message a datagram, each reply a
 * message) while one can be opened, else POST /dc. `send` resolves with
 * { reply } — reply null: the server had no answer (HTTP 204) — or
 * { lost: true } when nothing came back in time or the connection broke.
 */
class Link {
  constructor(base) {
    this.base = base;
    this.ws = null;
    this.opening = null;
    this.waiting = new Map();
    this.noSocket = typeof WebSocket === "undefined";
  }

  open() {
    if (this.noSocket) return Promise.resolve(null);
    if (this.ws && this.ws.readyState === WebSocket.OPEN) return Promise.resolve(this.ws);
    this.opening ??= new Promise((resolve) => {
      const ws = new WebSocket(`${this.base.replace(/^http/, "ws")}/ws`);
      const timer = setTimeout(() => (ws.close(), resolve(null)), 3000);
      ws.onopen = () => {
        clearTimeout(timer);
        this.ws = ws;
        resolve(ws);
      };
      ws.onerror = () => {
        clearTimeout(timer);
        resolve(null);
      };
      ws.onclose = () => {
        if (this.ws === ws) this.ws = null;
        for (const done of this.waiting.values()) done(null);
        this.waiting.clear();
      };
      ws.onmessage = (e) => {
        const text = String(e.data);
        const done = this.waiting.get(text.split("\n", 2)[1]);
        if (done) done(text);
      };
    }).finally(() => (this.opening = null));
    return this.opening;
  }

  async send(text, timeoutMs) {
    const ws = await this.open();
    if (!ws) {
      try {
        return { reply: await post(this.base, text, timeoutMs) };
      } catch {
        return { lost: true };
      }
    }
    const tag = text.split("\n", 2)[1];
    return await new Promise((resolve) => {
      const done = (reply) => {
        clearTimeout(timer);
        if (this.waiting.get(tag) === done) this.waiting.delete(tag);
        resolve(reply === null ? { lost: true } : { reply });
      };
      const timer = setTimeout(() => done(null), timeoutMs);
      this.waiting.set(tag, done);
      ws.send(text);
    });
  }

  close() {
    this.ws?.close();
  }
}

const links = new Map();
const linkTo = (base) => links.get(base) ?? links.set(base, new Link(base)).get(base);

function failedOnce() {
  if (++state.fails < FAILS_BEFORE_SWITCH || state.servers.length < 2) return;
  const from = state.ids[state.at] || state.servers[state.at];
  linkTo(state.servers[state.at]).close();
  state.at = (state.at + 1) % state.servers.length;
  state.fails = 0;
  status(`server ${from} not answering; switched to ${state.ids[state.at] || state.servers[state.at]}`, 10_000);
}

/**
 * Sends a request until a reply comes (the same text, hence the same tag,
 * every time: the server answers a resend as it answered the first). Polls
 * wait as long as the server may hold them.
 */
async function call(text, o = {}) {
  for (let attempt = 0; !state.loggedOut || o.always; attempt++) {
    const base = state.servers[state.at];
    const timeout = o.poll ? WAIT_MS + 5000 : SEND_TIMEOUTS[Math.min(attempt, SEND_TIMEOUTS.length - 1)];
    const r = await linkTo(base).send(text, timeout);
    if (!r.lost) {
      if (r.reply !== null) {
        state.fails = 0;
        return parseReply(r.reply);
      }
      if (o.poll) continue; // HTTP: the server held it as long as it could; ask again
    } else await new Promise((res) => setTimeout(res, 150)); // refused, reset or timed out: resend after a pause
    failedOnce();
  }
  return null;
}

/** A request with the session's token; on bad-token logs in again (same name) and rejoins, then retries. */
async function withToken(build, o = {}) {
  for (let i = 0; i < 3; i++) {
    const token = state.token;
    const r = await call(build(tag(), token), o);
    if (r === null) return null;
    if (r.verb === "error" && r.code === "bad-token" && !state.loggedOut) {
      if (state.token === token) await relogin();
      continue;
    }
    return r;
  }
  return null;
}

let relogging = null;
async function relogin() {
  relogging ??= (async () => {
    const r = await call(requestText("login", tag(), state.user));
    if (r?.verb === "ok" && r.kind === "login") {
      state.token = r.token;
      status("logged in again (the session had ended)");
      for (const room of state.rooms.values()) await call(requestText("connect", tag(), state.token, room.name));
    }
  })().finally(() => (relogging = null));
  await relogging;
}

// --- Login ------------------------------------------------------------------

async function loadServers() {
  try {
    const res = await fetch("/servers.json", { cache: "no-store" });
    const { servers } = await res.json();
    const webs = servers.map((s) => s.web);
    let i = webs.indexOf(location.origin);
    if (i < 0) {
      webs.unshift(location.origin);
      servers.unshift({ id: "", web: location.origin });
      i = 0;
    }
    // This page's server first, then the others in servers.txt order.
    state.servers = [...webs.slice(i), ...webs.slice(0, i)];
    state.ids = [...servers.slice(i), ...servers.slice(0, i)].map((s) => s.id);
  } catch {
    // Only this server.
  }
}

$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const name = $("login-name").value.trim();
  $("login-error").textContent = "";
  state.loggedOut = false;
  const r = await call(requestText("login", tag(), name));
  if (r?.verb !== "ok") {
    $("login-error").textContent = r?.code === "name-taken" ? `${name} is in use; choose another name` : `cannot log in: ${r?.message ?? "no server answers"}`;
    return;
  }
  state.user = r.userName;
  state.token = r.token;
  $("me").textContent = r.userName;
  $("login-view").hidden = true;
  $("chat-view").hidden = false;
  $("logout").hidden = false;
  $("join-name").focus();
  refreshRooms();
});

$("logout").addEventListener("click", async () => {
  const token = state.token;
  state.loggedOut = true;
  for (const room of state.rooms.values()) room.alive = false;
  state.rooms.clear();
  state.current = null;
  await call(requestText("logout", tag(), token), { always: true });
  location.reload();
});

// --- Rooms ------------------------------------------------------------------

/**
 * Every name of a paged list (`rooms` or `who`: docs/PROTOCOL.md "Paging
 * names"), asking again after the last name while `more`; at most 50 pages.
 * `failed` is the reply that was not a page (the names before it are kept).
 */
async function allNames(kind, build) {
  const names = [];
  let after = null;
  for (let pages = 0; pages < 50; pages++) {
    const r = await withToken((t, token) => build(t, token, after));
    if (r?.verb !== "ok" || r.kind !== kind) return { names, failed: r ?? { message: "no answer" } };
    names.push(...r.names);
    if (!r.more || r.names.length === 0) break;
    after = r.names[r.names.length - 1];
  }
  return { names, failed: null };
}

async function refreshRooms() {
  const { names } = await allNames("rooms", (t, token, after) => requestText("rooms", t, token, after));
  const ul = $("all-rooms");
  ul.replaceChildren(...names.map((n) => {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = n;
    b.addEventListener("click", () => enter(n, false));
    li.append(b);
    return li;
  }));
}
setInterval(() => state.token && !state.loggedOut && refreshRooms(), 15_000);

$("join-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  enter($("join-name").value.trim(), false);
});
$("create").addEventListener("click", () => {
  if ($("join-form").reportValidity()) enter($("join-name").value.trim(), true);
});

/** connect (or open); on success the room is shown from its newest messages and polled. */
async function enter(name, create) {
  let r = await withToken((t, token) => requestText(create ? "open" : "connect", t, token, name));
  if (r?.verb === "error" && r.code === "no-room" && !create) {
    return status(`no room ${name}; press Create to make it`);
  }
  if (r?.verb === "error" && r.code === "room-exists") r = await withToken((t, token) => requestText("connect", t, token, name));
  if (r?.verb !== "ok") return status(`cannot enter ${name}: ${r?.message ?? "no server answers"}`);
  const key = fold(r.groupName);
  let room = state.rooms.get(key);
  if (!room) {
    room = { name: r.groupName, cursor: "0", shown: new Set(), items: [], oldest: null, olderExist: false, unread: 0, alive: true, loading: false };
    state.rooms.set(key, room);
    select(key);
    await latest(room);
    poll(room);
    refreshRooms();
  } else select(key);
  $("join-name").value = "";
}

/** The newest page of a room; its cursor is the live tail the poll goes on from. */
async function latest(room) {
  const r = await withToken((t, token) => requestText("history", t, token, room.name, PAGE));
  if (r?.verb !== "ok" || r.kind !== "history") return; // an older server: the poll reads from the start
  room.cursor = r.cursor;
  room.olderExist = r.more;
  room.oldest = r.entries[0]?.id ?? null;
  for (const e of r.entries) room.shown.add(e.id);
  room.items.push(...r.entries.map((e) => ({ entry: e })));
  if (state.current === fold(room.name)) render(room, "bottom");
}

/** Older messages, when the reader scrolls to the top. */
async function older(room) {
  if (room.loading || !room.olderExist || room.oldest === null) return;
  room.loading = true;
  try {
    const before = room.oldest;
    const r = await withToken((t, token) => requestText("history", t, token, room.name, PAGE, before));
    if (r?.verb !== "ok" || r.kind !== "history") {
      if (r?.code === "no-message") status("older messages are not on this server yet");
      return;
    }
    const fresh = r.entries.filter((e) => !room.shown.has(e.id));
    for (const e of fresh) room.shown.add(e.id);
    room.items.unshift(...fresh.map((e) => ({ entry: e })));
    room.oldest = r.entries[0]?.id ?? room.oldest;
    room.olderExist = r.more && r.entries.length > 0;
    if (state.current === fold(room.name)) render(room, "keep");
  } finally {
    room.loading = false;
  }
}

async function poll(room) {
  let failures = 0;
  while (room.alive && !state.loggedOut) {
    const r = await withToken((t, token) => requestText("request", t, token, room.name, room.cursor, WAIT_MS), { poll: true });
    if (!room.alive || r === null) return;
    if (r.verb === "poll") {
      failures = 0;
      room.cursor = r.cursor;
      const fresh = r.entries.filter((e) => !room.shown.has(e.id));
      for (const e of fresh) {
        room.shown.add(e.id);
        room.items = room.items.filter((it) => it.pendingId !== e.id);
        room.items.push({ entry: e });
      }
      if (fresh.length === 0) continue;
      if (state.current === fold(room.name)) render(room, "follow");
      else {
        room.unread += fresh.length;
        drawJoined();
      }
      continue;
    }
    failures++;
    if (r.verb === "error" && r.code === "not-member" && failures === 1) {
      await withToken((t, token) => requestText("connect", t, token, room.name));
      continue;
    }
    if (failures > 5) {
      status(`stopped reading ${room.name}: ${r.message ?? r.code}`);
      return;
    }
    await new Promise((res) => setTimeout(res, 500 * 2 ** failures));
  }
}

function select(key) {
  state.current = key;
  const room = state.rooms.get(key);
  $("room-title").textContent = room ? room.name : "No room";
  for (const id of ["who", "key", "leave", "text", "send"]) $(id).disabled = !room;
  $("who-list").hidden = true;
  $("key-form").hidden = true;
  if (room) {
    room.unread = 0;
    render(room, "bottom");
    $("text").focus();
  } else $("messages").replaceChildren();
  drawJoined();
}

function drawJoined() {
  const ul = $("joined");
  ul.replaceChildren(...[...state.rooms].map(([key, room]) => {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = room.name + (state.keys.has(room.name) ? " 🔒" : "");
    if (key === state.current) b.setAttribute("aria-current", "true");
    if (room.unread > 0) {
      const u = document.createElement("span");
      u.className = "unread";
      u.textContent = ` (${room.unread})`;
      b.append(u);
      b.setAttribute("aria-label", `${room.name}, ${room.unread} unread`);
    }
    b.addEventListener("click", () => select(key));
    li.append(b);
    return li;
  }));
}

$("leave").addEventListener("click", async () => {
  const room = state.rooms.get(state.current);
  if (!room) return;
  const r = await withToken((t, token) => requestText("leave", t, token, room.name));
  if (r?.verb === "error" && r.code !== "not-member") return status(`cannot leave ${room.name}: ${r.message}`);
  room.alive = false;
  state.rooms.delete(state.current);
  select(state.rooms.keys().next().value ?? null);
});

$("who").addEventListener("click", async () => {
  const room = state.rooms.get(state.current);
  if (!room) return;
  const { names, failed } = await allNames("who", (t, token, after) => requestText("who", t, token, room.name, after));
  if (failed) return status(`cannot list ${room.name}: ${failed.message ?? "no answer"}`);
  $("who-list").textContent = `In ${room.name} (${names.length}): ${names.join(", ") || "nobody"}`;
  $("who-list").hidden = false;
});

// --- Sealed rooms -----------------------------------------------------------

$("key").addEventListener("click", () => {
  $("key-form").hidden = !$("key-form").hidden;
  if (!$("key-form").hidden) $("key-input").focus();
});
$("key-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const room = state.rooms.get(state.current);
  const pass = $("key-input").value;
  if (!room || pass === "") return;
  status("deriving the room key…", 0);
  await state.keys.setPassphrase(room.name, pass);
  $("key-input").value = "";
  $("key-form").hidden = true;
  status(`${room.name} is sealed: messages you send there are encrypted`);
  drawJoined();
  render(room, "bottom");
});
$("key-forget").addEventListener("click", () => {
  const room = state.rooms.get(state.current);
  if (!room) return;
  state.keys.forget(room.name);
  $("key-form").hidden = true;
  status(`forgot the passphrase of ${room.name}`);
  drawJoined();
  render(room, "bottom");
});

// --- Sending ----------------------------------------------------------------

$("text").addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    $("send-form").requestSubmit();
  }
});

$("send-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const room = state.rooms.get(state.current);
  const text = $("text").value;
  if (!room || text.trim() === "") return;
  let wire = text;
  if (state.keys.has(room.name)) {
    try {
      wire = await state.keys.seal(room.name, state.user, text);
    } catch (e) {
      return status(e.message);
    }
  } else if (isSealed(text)) return status("that text looks like a sealed message; add a space to send it plain");
  $("text").value = "";
  const item = { pending: ++state.pendingNo, text, pendingId: null };
  room.items.push(item);
  if (state.current === fold(room.name)) render(room, "follow");
  const r = await withToken((t, token) => requestText("add", t, token, escapeText(wire), room.name));
  if (r?.verb === "ok" && r.kind === "add") {
    if (room.shown.has(r.msgId)) room.items = room.items.filter((it) => it !== item);
    else item.pendingId = r.msgId; // goes when the poll brings the message
  } else {
    room.items = room.items.filter((it) => it !== item);
    status(`not sent: ${r?.message ?? "no server answers"}`, 10_000);
  }
  if (state.current === fold(room.name)) render(room, "follow");
});

// --- Showing ----------------------------------------------------------------

const dayOf = (ms) => new Date(ms).toDateString();
const hhmm = (ms) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
const opened = new Map(); // "room id" → shown form of a sealed message

/** Redraws a room's messages: "bottom" scrolls to the end, "follow" only if the reader was there, "keep" holds the view (older ones above). */
function render(room, scroll) {
  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const oldHeight = list.scrollHeight, oldTop = list.scrollTop;
  const out = [];
  let day = null;
  for (const it of room.items) {
    const at = it.entry ? it.entry.at : Date.now();
    if (dayOf(at) !== day) {
      day = dayOf(at);
      const d = document.createElement("li");
      d.className = "day";
      d.setAttribute("role", "separator");
      d.textContent = new Date(at).toLocaleDateString([], { weekday: "long", year: "numeric", month: "long", day: "numeric" });
      out.push(d);
    }
    out.push(it.entry ? messageItem(room, it.entry) : pendingItem(it));
  }
  list.replaceChildren(...out);
  $("older").textContent = room.olderExist ? "Scroll up for older messages" : "";
  if (scroll === "bottom" || (scroll === "follow" && atBottom)) list.scrollTop = list.scrollHeight;
  else if (scroll === "keep") list.scrollTop = oldTop + (list.scrollHeight - oldHeight);
}

function messageItem(room, e) {
  const li = document.createElement("li");
  li.dataset.id = e.id;
  const time = document.createElement("time");
  time.dateTime = new Date(e.at).toISOString();
  time.textContent = hhmm(e.at);
  const from = document.createElement("span");
  from.className = "from";
  from.textContent = visible(e.user);
  const text = document.createElement("span");
  text.className = "text";
  text.dir = "auto";
  if (isSealed(e.msg)) {
    const k = `${fold(room.name)} ${e.id}`;
    const shown = opened.get(k);
    if (shown && shown.keyed === state.keys.has(room.name)) showOpened(text, li, shown.r);
    else {
      text.textContent = "[sealed message]";
      state.keys.open(room.name, e.user, e.msg).then((r) => {
        opened.set(k, { keyed: state.keys.has(room.name), r });
        showOpened(text, li, r);
      });
    }
  } else text.textContent = visible(e.msg);
  li.append(time, from, text);
  return li;
}

const LOCKED = {
  "no-key": "[sealed message — no passphrase for this room]",
  "wrong-key": "[sealed message — a different passphrase]",
  "unsupported-version": "[sealed message of a newer format]",
};

function showOpened(text, li, r) {
  if (r.kind === "sealed") text.textContent = `🔒 ${visible(r.text)}`;
  else if (r.kind === "plain") text.textContent = visible(r.text);
  else if (r.kind === "locked") {
    li.className = "locked";
    text.textContent = LOCKED[r.reason] ?? "[sealed message]";
  } else {
    li.className = "tampered";
    text.textContent = "[⚠ sealed message failed its check — altered or moved; not shown]";
  }
}

function pendingItem(it) {
  const li = document.createElement("li");
  li.className = "pending";
  const from = document.createElement("span");
  from.className = "from";
  from.textContent = state.user;
  const text = document.createElement("span");
  text.className = "text";
  text.dir = "auto";
  text.textContent = visible(it.text);
  li.append(from, text);
  return li;
}

$("messages").addEventListener("scroll", () => {
  const room = state.rooms.get(state.current);
  if (room && $("messages").scrollTop < 40) older(room);
});

// For tests and the curious: what the page knows, read-only.
globalThis.distchat = {
  get server() {
    return state.ids[state.at] || state.servers[state.at];
  },
  get servers() {
    return [...state.servers];
  },
  /** "websocket" or "http": how the page reaches its server now. */
  get transport() {
    return links.get(state.servers[state.at])?.ws ? "websocket" : "http";
  },
  shown: (room) => state.rooms.get(fold(room))?.items.filter((it) => it.entry).map((it) => it.entry.id) ?? [],
  pending: (room) => state.rooms.get(fold(room))?.items.filter((it) => !it.entry).length ?? 0,
  parseMsgId,
};

loadServers();

// The DistChat web client: the client protocol of docs/PROTOCOL.md over the
// web transport (POST /dc), with the terminal client's guarantees: every
// request is resent with the same tag until answered; after three failed
// sends it moves to the next server's web URL (servers.json) with the same
// token and cursors, so no line is lost or shown twice. Received text only
// ever reaches the page as textContent.
import { escapeText, noticeText, parseMsgId, parseReply, requestText, visible } from "./protocol.js";
import { isSealed, RoomKeys } from "./seal.js";
import { clientFinal, dmKeyPair, fingerprint, isSealedDm, makeVerifier, MAX_DM_PLAIN, newNonce, openDm, sealDm, workAsked } from "./accounts.js";

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
  /** The registered name's password (kept in this page only, for logging in again after a failover or expiry). */
  password: null,
  registered: false,
  /** This user's DM key pair, once registered or logged in by password. */
  dmKey: null,
  /** Peers' published DM keys: folded name → base64 or "-". */
  peerKeys: new Map(),
  /** Keys first seen this session (trust on first use is per page: a reload starts again). */
  seenKeys: new Map(),
};
const isDm = (name) => name.startsWith("@");

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
    const r = state.registered ? await passwordLogin(state.user, state.password) : await call(requestText("login", tag(), state.user));
    if (r?.verb === "ok" && r.kind === "login") {
      state.token = r.token;
      status("logged in again (the session had ended)");
      for (const room of state.rooms.values()) if (!isDm(room.name)) await call(requestText("connect", tag(), state.token, room.name));
    } else if (r?.verb === "error" && /registered/.test(r.message)) {
      status(`${state.user} was registered by someone else: you are logged out`, 0);
      state.loggedOut = true;
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

/**
 * SCRAM step 1 and the client-final for `password` ({ first } holds the
 * refusal when there is none). A challenge may ask for a proof of work (the
 * name is under attack): the page says so while it solves it.
 */
async function prove(name, password) {
  const nonce = newNonce();
  const first = await call(requestText("auth", tag(), name, nonce));
  if (first?.verb !== "ok" || first.kind !== "auth") return { first };
  const puzzle = workAsked(first.serverFirst) > 0;
  if (puzzle) status(`${name} is being guessed at: solving a puzzle first…`, 0);
  const fin = await clientFinal(password, name, nonce, first.serverFirst);
  if (puzzle) status("");
  return fin ? { first, fin } : { first: { verb: "error", code: "bad-password", message: "malformed challenge" } };
}

/** SCRAM (docs/PROTOCOL.md "Accounts"): auth, then login with the proof; the reply (its serverFinal checked). */
async function passwordLogin(name, password, retry = true) {
  const { first, fin } = await prove(name, password);
  if (!fin) return first;
  const r = await call(requestText("login", tag(), name, fin.message));
  if (retry && r?.verb === "error" && r.code === "rate-limited") {
    // E.g. the name came under attack between auth and the proof: a new challenge asks for the work.
    await new Promise((ok) => setTimeout(ok, 1000));
    return passwordLogin(name, password, false);
  }
  if (r?.verb === "ok" && r.kind === "login") {
    if (r.serverFinal !== fin.serverSignature) return { verb: "error", code: "bad-password", message: "the server could not prove it knows this account" };
    state.dmKey = await dmKeyPair(fin.salted);
  }
  return r;
}

$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const name = $("login-name").value.trim();
  const password = $("login-password").value;
  $("login-error").textContent = "";
  state.loggedOut = false;
  let r = password ? await passwordLogin(name, password) : await call(requestText("login", tag(), name));
  let registered = password !== "" && r?.verb === "ok";
  if (password && r?.verb === "error" && r.code === "bad-password") {
    // Not registered (yet)? An ordinary login; the password waits for "Register this name".
    const plain = await call(requestText("login", tag(), name));
    if (plain?.verb === "ok") (r = plain), (registered = false);
  }
  if (r?.verb !== "ok") {
    $("login-error").textContent = r?.code === "name-taken"
      ? (/registered/.test(r.message) ? `${name} is registered: enter its password` : `${name} is in use; choose another name`)
      : r?.code === "bad-password" ? "wrong password" : `cannot log in: ${r?.message ?? "no server answers"}`;
    return;
  }
  state.user = r.userName;
  state.token = r.token;
  state.password = password || null;
  state.registered = registered;
  $("login-password").value = "";
  $("me").textContent = r.userName;
  $("login-view").hidden = true;
  $("chat-view").hidden = false;
  $("logout").hidden = false;
  $("account").hidden = registered;
  select(null);
  $("join-name").focus();
  refreshRooms();
  dmsLoop();
});

// --- Accounts -----------------------------------------------------------------

/** The account form: "register" (a new password), "password" (the current one, then a new one) or "drop" (the current one). */
function accountForm(mode) {
  state.accountMode = mode;
  const what = {
    register: `Register ${state.user}: from then on the name logs in only with this password, on every server. The password never leaves this page; direct messages between registered users are sealed end to end.`,
    password: `Change the password of ${state.user}. Direct messages sealed to your old key can no longer be opened.`,
    drop: `Drop the account ${state.user}: the name becomes anyone's once you log out.`,
  }[mode];
  $("account-what").textContent = what;
  $("account-old-box").hidden = mode === "register";
  $("account-new-box").hidden = mode === "drop";
  $("account-old").required = mode !== "register";
  $("account-password").required = $("account-again").required = mode !== "drop";
  $("account-submit").textContent = { register: "Register", password: "Change password", drop: "Drop the account" }[mode];
  $("account-error").textContent = "";
  $("account-view").hidden = false;
  $("chat-view").hidden = true;
  (mode === "register" ? $("account-password") : $("account-old")).focus();
}

function closeAccountForm() {
  for (const id of ["account-old", "account-password", "account-again"]) $(id).value = "";
  $("account-view").hidden = true;
  $("chat-view").hidden = false;
}

$("account").addEventListener("click", () => accountForm("register"));
$("account-cancel").addEventListener("click", closeAccountForm);
$("account-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const mode = state.accountMode;
  const old = $("account-old").value, pw = $("account-password").value;
  if (mode !== "drop" && pw !== $("account-again").value) return ($("account-error").textContent = "the two passwords differ");
  $("account-error").textContent = "";
  let proof = null;
  if (mode !== "register") {
    // A fresh SCRAM exchange proves the current password (docs/PROTOCOL.md "Accounts").
    status("deriving keys…", 0);
    const p = await prove(state.user, old);
    if (!p.fin) return (status(""), ($("account-error").textContent = p.first?.message ?? "no server answers"));
    proof = p.fin;
  }
  status("deriving keys…", 0);
  const v = mode === "drop" ? null : await makeVerifier(pw);
  const key = v ? await dmKeyPair(v.salted) : null;
  const r = mode === "register"
    ? await withToken((t, token) => requestText("register", t, token, v.salt, v.iterations, v.storedKey, v.serverKey, key.publicKey))
    : mode === "password"
    ? await call(requestText("password", tag(), state.user, proof.message, v.salt, v.iterations, v.storedKey, v.serverKey))
    : await call(requestText("drop", tag(), state.user, proof.message));
  status("");
  if (r?.verb !== "ok") return ($("account-error").textContent = r?.code === "bad-password" ? "wrong password" : `failed: ${r?.message ?? "no server answers"}`);
  if (mode !== "register" && r.serverFinal !== proof.serverSignature) return ($("account-error").textContent = "the server could not prove it knows this account");
  closeAccountForm();
  if (mode === "drop") {
    Object.assign(state, { password: null, registered: false, dmKey: null });
    $("account").hidden = false;
    return status(`${state.user} is no longer registered`, 15_000);
  }
  if (mode === "password") await withToken((t, token) => requestText("pubkey", t, token, key.publicKey));
  Object.assign(state, { password: pw, registered: true, dmKey: key });
  $("account").hidden = true;
  const fp = await fingerprint(key.publicKey);
  status(mode === "register" ? `registered ${state.user}; your key fingerprint is ${fp}` : `password changed; your new key fingerprint is ${fp}`, 15_000);
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
    showTopic(room);
  } else select(key);
  $("join-name").value = "";
}

/** The room's topic under its title. */
async function showTopic(room) {
  if (isDm(room.name)) return;
  const r = await withToken((t, token) => requestText("room", t, token, room.name));
  if (r?.verb !== "ok" || r.kind !== "room") return;
  room.topic = r.topic ? `Topic: ${r.topic} (set by ${r.topicBy})` : "";
  room.mode = r.mode;
  if (state.current === fold(room.name)) $("topic").textContent = visible(room.topic);
}

// --- Direct conversations --------------------------------------------------------

/** A peer's published key, checked against the one first seen in this page. */
async function peerKey(name) {
  const k = fold(name);
  if (state.peerKeys.has(k)) return state.peerKeys.get(k);
  const r = await withToken((t, token) => requestText("whois", t, token, name));
  if (r?.verb !== "ok" || r.kind !== "whois") return "-";
  state.peerKeys.set(k, r.publicKey);
  if (r.publicKey !== "-") {
    const fp = await fingerprint(r.publicKey);
    const seen = state.seenKeys.get(k);
    if (seen && seen !== fp) status(`WARNING: ${name}'s key changed from ${seen} to ${fp}`, 0);
    state.seenKeys.set(k, fp);
  }
  return r.publicKey;
}

/** Opens (or shows) the conversation "@name". */
async function openConversation(address, focus) {
  const key = fold(address);
  if (!state.rooms.has(key)) {
    await peerKey(address.slice(1));
    if (state.rooms.has(key)) return focus && select(key);
    const room = { name: address, cursor: "0", shown: new Set(), items: [], oldest: null, olderExist: false, unread: 0, alive: true, loading: false };
    state.rooms.set(key, room);
    if (focus) select(key);
    await latest(room);
    poll(room);
    if (!focus) drawJoined();
  } else if (focus) select(key);
}

$("dm-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const name = $("dm-name").value.trim();
  $("dm-name").value = "";
  if (fold(name) === fold(state.user ?? "")) return status("a direct conversation needs another user");
  openConversation(`@${name}`, true);
});

/** Asks for new direct conversations every 3 s (there is no push). */
async function dmsLoop() {
  while (state.token && !state.loggedOut) {
    const r = await withToken((t, token) => requestText("dms", t, token));
    if (r?.verb === "error" && r.code === "bad-request") return; // a server without DMs
    if (r?.verb === "ok" && r.kind === "dms") {
      for (const e of r.entries) {
        if (e.last !== null && !state.rooms.has(fold(e.groupName))) {
          status(`direct message from ${e.groupName.slice(1)}`);
          await openConversation(e.groupName, false);
          const room = state.rooms.get(fold(e.groupName));
          if (room && state.current !== fold(e.groupName)) room.unread = Math.max(room.unread, 1), drawJoined();
        }
      }
    }
    await new Promise((res) => setTimeout(res, 3000));
  }
}



/** The newest page of a room; its cursor is the live tail the poll goes on from. */
async function latest(room) {
  const r = await withToken((t, token) => requestText("history", t, token, room.name, PAGE, isDm(room.name) ? null : "notices"));
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
    const r = await withToken((t, token) => requestText("history", t, token, room.name, PAGE, before, isDm(room.name) ? null : "notices"));
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
    const r = await withToken((t, token) => requestText("request", t, token, room.name, room.cursor, WAIT_MS, isDm(room.name) ? null : "notices"), { poll: true });
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
      if (fresh.some((e) => /^\u0001(topic|mode) /.test(e.msg))) showTopic(room);
      if (state.current === fold(room.name)) render(room, "follow");
      else {
        room.unread += fresh.length;
        drawJoined();
      }
      continue;
    }
    failures++;
    if (r.verb === "error" && r.code === "not-member" && /banned|kicked|invite-only/.test(r.message)) {
      status(r.message, 0);
      room.alive = false;
      state.rooms.delete(fold(room.name));
      select(state.rooms.keys().next().value ?? null);
      return;
    }
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
  for (const id of ["who", "key", "leave"]) $(id).disabled = !room;
  for (const id of ["text", "send"]) $(id).disabled = !state.token; // commands work without a room
  if (room && isDm(room.name)) $("who").disabled = $("key").disabled = true;
  $("leave").textContent = room && isDm(room.name) ? "Close" : "Leave";
  $("topic").textContent = room && !isDm(room.name) ? visible(room.topic ?? "") : room ? "Direct conversation" + (state.dmKey && state.peerKeys.get(fold(room.name.slice(1))) !== "-" ? " — sealed end to end" : " — not sealed (both must be registered)") : "";
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
  if (isDm(room.name)) {
    room.alive = false;
    state.rooms.delete(state.current);
    return select(state.rooms.keys().next().value ?? null);
  }
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
  let text = $("text").value;
  if (text.trim() === "") return;
  if (text.startsWith("/") && !text.startsWith("//")) {
    $("text").value = "";
    if (!/^\/me\s/.test(text)) return command(room, text.trim());
    text = `\u0001me ${text.replace(/^\/me\s+/, "")}`;
  } else if (text.startsWith("//")) text = text.slice(1);
  if (!room) return status("join a room or open a direct conversation first");
  $("text").value = "";
  await sendTo(room, text);
});

/** Sends `text` to a room (sealed with its passphrase) or a conversation (sealed when both are registered). */
async function sendTo(room, text) {
  let wire = text;
  if (isDm(room.name)) {
    const peer = await peerKey(room.name.slice(1));
    if (state.dmKey && peer !== "-") {
      if (new TextEncoder().encode(text).length > MAX_DM_PLAIN) return status(`a sealed direct message holds at most ${MAX_DM_PLAIN} bytes`);
      wire = await sealDm(state.dmKey, peer, state.user, room.name.slice(1), text);
    }
  } else if (state.keys.has(room.name)) {
    try {
      wire = await state.keys.seal(room.name, state.user, text);
    } catch (e) {
      return status(e.message);
    }
  } else if (isSealed(text)) return status("that text looks like a sealed message; add a space to send it plain");
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
}

const HELP = "/register · /password · /unregister · /me TEXT · /msg NAME TEXT · /query NAME · /whois NAME · /topic [TEXT] · /op NAME · /deop NAME · " +
  "/kick NAME [REASON] · /ban NAME [REASON] · /unban NAME · /invite NAME · /mode [+i|-i]";

/** The composer's commands: the terminal client's, in the page (docs/CLIENT.md "The web client"). */
async function command(room, line) {
  const [, word, rest = ""] = /^\/(\S+)\s*([\s\S]*)$/.exec(line) ?? [];
  const [first = ""] = rest.split(/\s+/).filter((x) => x !== "");
  const text = rest.trim().slice(first.length).trim();
  const out = (t) => (($("who-list").textContent = t), ($("who-list").hidden = false));
  const mod = async (action, target, why = "") => {
    if (!room || isDm(room.name)) return status("type into a room first");
    const r = await withToken((t, token) => requestText("mod", t, token, room.name, action, target, escapeText(why)));
    if (r?.verb !== "ok") return status(`cannot ${action} ${target === "-" ? "" : target}: ${r?.message ?? "no server answers"}`, 10_000);
    if (action === "invite") status(`invited ${target} to ${room.name}`);
  };
  switch (word) {
    case "help":
      return out(HELP);
    case "register":
      return state.registered ? status(`${state.user} is registered already`) : accountForm("register");
    case "password":
    case "unregister":
      return state.registered ? accountForm(word === "password" ? "password" : "drop") : status(`${state.user} is not registered: /register first`);
    case "msg": {
      if (!first || !text) return status("usage: /msg NAME TEXT");
      await openConversation(`@${first}`, false);
      const c = state.rooms.get(fold(`@${first}`));
      return c && sendTo(c, text);
    }
    case "query":
      return first ? openConversation(`@${first}`, true) : status("usage: /query NAME");
    case "whois": {
      if (!first) return status("usage: /whois NAME");
      state.peerKeys.delete(fold(first));
      await peerKey(first);
      const r = await withToken((t, token) => requestText("whois", t, token, first));
      if (r?.verb !== "ok") return status(`whois ${first}: ${r?.message ?? "no answer"}`);
      const key = r.publicKey === "-" ? "no key" : `key ${await fingerprint(r.publicKey)}`;
      return out(`${r.userName}: ${r.registered ? "registered" : "not registered"}, ${r.idle === null ? "not logged in" : `idle ${r.idle} s`}, ${key}, ` +
        (r.rooms.length ? `rooms in common: ${r.rooms.join(", ")}` : "no rooms in common"));
    }
    case "topic":
      if (rest.trim() === "") return out(room?.topic || "no topic");
      return mod("topic", "-", rest.trim());
    case "op": case "deop": case "unban": case "invite":
      return first ? mod(word, first) : status(`usage: /${word} NAME`);
    case "kick": case "ban":
      return first ? mod(word, first, text) : status(`usage: /${word} NAME [REASON]`);
    case "mode": {
      if (first === "+i" || first === "-i") return mod("mode", first);
      if (!room || isDm(room.name)) return status("type into a room first");
      const r = await withToken((t, token) => requestText("room", t, token, room.name));
      if (r?.verb !== "ok" || r.kind !== "room") return status(`cannot read ${room.name}: ${r?.message ?? "no answer"}`);
      return out(`${r.groupName}: ${r.mode === "+i" ? "invite-only" : "open to all"}; roles: ${r.roles.join(" ") || "none"} (~owner @operator !banned +invited)`);
    }
  }
  status(`unknown command /${word}; /help lists them`);
}

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
  if (e.msg.startsWith("\u0001") && !e.msg.startsWith("\u0001me ")) li.dataset.notice = e.id;
  else li.dataset.id = e.id;
  const time = document.createElement("time");
  time.dateTime = new Date(e.at).toISOString();
  time.textContent = hhmm(e.at);
  const from = document.createElement("span");
  from.className = "from";
  from.textContent = visible(e.user);
  const text = document.createElement("span");
  text.className = "text";
  text.dir = "auto";
  const notice = noticeText(e.user, e.msg);
  if (notice !== null) {
    li.className = "notice";
    text.textContent = visible(notice);
    li.append(time, text);
    return li;
  }
  if (isDm(room.name) && isSealedDm(e.msg)) {
    const k = `${fold(room.name)} ${e.id}`;
    const shown = opened.get(k);
    if (shown) showOpened(text, li, shown.r);
    else {
      text.textContent = "[sealed direct message]";
      openSealedDm(room, e).then((r) => {
        opened.set(k, { r });
        showOpened(text, li, r);
      });
    }
  } else if (isSealed(e.msg)) {
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

/** Opens a sealed DM of conversation `room` as { kind, text } for showOpened. */
async function openSealedDm(room, e) {
  const peerName = room.name.slice(1);
  const peer = await peerKey(peerName);
  if (!state.dmKey || peer === "-") return { kind: "locked", reason: state.dmKey ? "no-peer-key" : "no-dm-key" };
  const mine = fold(e.user) === fold(state.user);
  const t = await openDm(state.dmKey, peer, e.user, mine ? peerName : state.user, e.msg);
  return t === null ? { kind: "tampered" } : { kind: "sealed", text: t };
}

const LOCKED = {
  "no-dm-key": "[sealed direct message — log in with your password to read it]",
  "no-peer-key": "[sealed direct message — the other user has no key]",
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
  /** What the page shows of a room or conversation, one line per message ("user: text", notices "* …"). */
  lines: (room) => {
    if (state.current !== fold(room)) return null;
    return [...document.querySelectorAll("#messages li:not(.day)")].map((li) =>
      li.classList.contains("notice") ? li.querySelector(".text").textContent : `${li.querySelector(".from")?.textContent}: ${li.querySelector(".text").textContent}`
    );
  },
  parseMsgId,
};

loadServers();

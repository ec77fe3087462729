// An open page follows a changed server list (docs/CLIENT.md "A changed
// server list"; the rules are lib/client/page_servers.ts): every 60 s, and
// after each failover, it reads /servers.json from the server it talks to
// (a servers.txt origin: its CSP and CORS let it). Retired servers leave its
// failover list at once; for added ones, which its CSP cannot reach, it
// reloads itself at a quiet moment (or at once when no server answers) —
// the session, rooms and read state survive a reload — and says so after.
import { compareListing, PAGE_SERVERS_EVERY_MS, parseListing, reloadDecision } from "../lib/client/page_servers.ts";
import { linkWords, surfaceWords } from "../lib/client/wording.ts";

const RELOADED = "distchat.reloaded";
/** How long one /servers.json request may take, ms. */
const FETCH_MS = 5000;

/** The poll interval: `globalThis.distchatServersEveryMs` when a test set it before the page loaded (at least 200), else PAGE_SERVERS_EVERY_MS. */
function everyMs() {
  const ms = Number(globalThis.distchatServersEveryMs);
  return ms >= 200 ? ms : PAGE_SERVERS_EVERY_MS;
}

/** The last self-reload for a changed list ({ added, at, told }), or null. */
function lastReload() {
  try {
    const r = JSON.parse(sessionStorage.getItem(RELOADED) ?? "null");
    return r && typeof r.at === "number" && Array.isArray(r.added) ? r : null;
  } catch {
    return null;
  }
}

function keepReload(r) {
  try {
    sessionStorage.setItem(RELOADED, JSON.stringify(r));
  } catch {
    // Storage refused: the page still reloads; the gap between reloads is not kept.
  }
}

/** The servers `/servers.json` at `origin` lists, or null (no answer, or not a listing). */
async function listing(origin) {
  try {
    const res = await fetch(`${origin}/servers.json`, { cache: "no-store", signal: AbortSignal.timeout(FETCH_MS) });
    return res.ok ? parseListing(await res.json()) : null;
  } catch {
    return null;
  }
}

/** Whether the server at `origin` answers. */
const answers = async (origin) => (await listing(origin)) !== null;

/** After a self-reload: says why the page reloaded, once. */
export function sayReloaded(notice) {
  const r = lastReload();
  if (r === null || r.told) return;
  keepReload({ ...r, told: true });
  notice(surfaceWords.page.reloadedFor(r.added));
}

/** A quiet moment for a reload: the chat screen, nothing typed (`drafting()`), no reply or edit under way, no dialog open. */
function quietNow(s, drafting) {
  return s.screen === "chat" && s.passphrase === null && s.compose === null && !drafting() && document.querySelector("dialog[open]") === null;
}

/**
 * Starts watching the server list for the session `chat()` (null: stopped):
 * `loaded`, the ids the page was loaded with; `drafting()`, whether anything
 * is typed; `notice(text)`; `beforeReload()` keeps the session. Returns `stop`.
 */
export function watchServers({ store, chat, loaded, drafting, notice, beforeReload }) {
  let added = [], addedWeb = [], answering = true, told = "", busy = false, reloading = false;
  let lastServer = chat()?.conn.server.id ?? "";

  const decide = () => {
    const since = Date.now() - (lastReload()?.at ?? -Infinity);
    const what = reloadDecision({ added, quiet: quietNow(store.get(), drafting), answering, registered: store.get().registered, sinceReloadMs: since });
    if (what === "tell" && told !== added.join(",")) {
      told = added.join(",");
      notice(surfaceWords.page.reloadToReach(added));
    }
    if (what === "reload" && !reloading) void reload();
  };

  /** Reloads, keeping the session; when no server answers, only if the page's own server does (it serves the page), else says where to go. */
  const reload = async () => {
    reloading = true;
    const home = answering || (await answers(location.origin));
    reloading = false;
    if (chat() === null) return;
    if (!home) {
      if (told !== `away ${added}`) notice(surfaceWords.page.openElsewhere(addedWeb));
      told = `away ${added}`;
      return;
    }
    stop();
    beforeReload();
    keepReload({ added, at: Date.now(), told: false });
    location.reload();
  };

  const check = async () => {
    const c = chat();
    if (c === null || busy) return;
    busy = true;
    const listed = await listing(c.conn.server.web ?? location.origin);
    busy = false;
    if (chat() !== c) return;
    answering = listed !== null || c.conn.status.state === "connected";
    if (listed !== null) {
      const change = compareListing(loaded, listed);
      const dropped = c.conn.dropServers(change.retired);
      if (dropped.length > 0) notice(linkWords.newList([], dropped, c.conn.servers.map((s) => s.id)));
      added = change.added;
      addedWeb = listed.filter((s) => added.includes(s.id)).map((s) => s.web);
    }
    decide();
  };

  const poll = setInterval(() => void check(), everyMs());
  // While servers wait to be reached: a reload as soon as the page is quiet.
  const settle = setInterval(() => added.length > 0 && decide(), 1000);
  const unsubscribe = store.subscribe((s) => {
    if (s.link.server === lastServer) return;
    lastServer = s.link.server; // a failover: the new server's list now
    void check();
  });
  void check();
  function stop() {
    clearInterval(poll);
    clearInterval(settle);
    unsubscribe();
  }
  return stop;
}

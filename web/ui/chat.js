// The chat screen: a header that stays put (the rooms button on a phone, the
// room's name and topic, the member list, log out), the link's state while a
// server is being replaced, the rooms pane, the messages and the composer,
// the room panel, and what the client says (notices, errors, answers).
import { useEffect, useState } from "preact/hooks";
import { html } from "../html.js";
import { Composer } from "./composer.js";
import { RoomsDrawer } from "./drawer.js";
import { CloseIcon, LockIcon, LogoutIcon, MenuIcon, PeopleIcon } from "./icons.js";
import { MembersPanel } from "./members.js";
import { MessageList } from "./messages.js";
import { SearchBar } from "./search.js";

import { presenceWords } from "../../lib/client/wording.ts";
import { PassphraseDialog } from "./passphrase.js";

/** How long "connected to b" stays after a reconnection, and a notice at all, ms. */
const SHOW_MS = 6000;
/** How long an error stays (unless dismissed first), ms: in the flow above the composer, it covers nothing. */
const ERROR_MS = 20_000;

/** Whether the screen is a phone's (the rooms pane is a drawer). */
function useNarrow() {
  const query = matchMedia("(max-width: 47.99rem)");
  const [narrow, setNarrow] = useState(query.matches);
  useEffect(() => {
    const on = () => setNarrow(query.matches);
    query.addEventListener("change", on);
    return () => query.removeEventListener("change", on);
  }, []);
  return narrow;
}

/** Re-renders once `ms` from now (to take down what was shown for a while). */
function useExpiry(at, ms) {
  const [, tick] = useState(0);
  useEffect(() => {
    if (!at) return;
    const t = setTimeout(() => tick((n) => n + 1), Math.max(0, at + ms - Date.now()) + 50);
    return () => clearTimeout(t);
  }, [at]);
  return at && Date.now() - at < ms;
}

function LinkBanner({ link }) {
  const recent = useExpiry(link.at, SHOW_MS);
  // Reconnecting; or still connecting after a whole round of servers ("no server is answering; still trying").
  const show = link.state === "reconnecting" || (link.state === "connecting" && link.text !== "") || (link.state === "connected" && recent && link.text !== "");
  return html`
    <div class=${`banner ${link.state}`} role="status" hidden=${!show}>
      ${show ? (link.state !== "connected" ? html`<span class="spinner" aria-hidden="true"></span> ${link.text || "reconnecting…"}` : link.text) : ""}
    </div>`;
}

/** What the client says (a notice, an error): a status area in the flow above the composer, never over the messages. */
function Toast({ toast, actions }) {
  const recent = useExpiry(toast?.at, toast?.error ? ERROR_MS : SHOW_MS);
  const show = toast && recent;
  return html`
    <div id="status" class="toasts">
      <div role="status" class="toast info" hidden=${!(show && !toast.error)}>${show && !toast.error ? toast.text : ""}</div>
      <div role="alert" class="toast error" hidden=${!(show && toast.error)}>
        ${show && toast.error && html`<span>${toast.text}</span>
          <button type="button" class="icon-button" aria-label="Dismiss" onClick=${actions.dismissToast}><${CloseIcon} /></button>`}
      </div>
    </div>`;
}

function Output({ lines, actions }) {
  if (!lines || lines.length === 0) return null;
  return html`
    <section class="output" aria-label="Command answer">
      <button type="button" class="icon-button" aria-label="Close the answer" onClick=${actions.dismissOutput}><${CloseIcon} /></button>
      ${lines.map((l, i) => html`<p key=${i}>${l}</p>`)}
    </section>`;
}

export function ChatScreen({ state, actions }) {
  const narrow = useNarrow();
  const room = state.current === null ? null : state.rooms[state.current] ?? null;
  const unread = Object.values(state.rooms).reduce((n, r) => n + r.unread, 0);
  const title = room ? (room.dm ? room.name.slice(1) : room.name) : "DistChat";
  const subtitle = room ? (room.dm ? (room.sealed ? "Direct conversation, sealed end to end" : "Direct conversation") : room.topic) : "";
  useEffect(() => {
    if (!narrow || !(state.drawerOpen || state.membersOpen)) return;
    const esc = (e) => e.key === "Escape" && (actions.toggleDrawer(false), actions.closeMembers());
    addEventListener("keydown", esc);
    document.querySelector(state.drawerOpen ? "#rooms-drawer button, #rooms-drawer input" : "#members button")?.focus();
    return () => removeEventListener("keydown", esc);
  }, [narrow, state.drawerOpen, state.membersOpen]);
  const overlay = narrow && (state.drawerOpen || state.membersOpen);
  return html`
    <div id="chat-view" class="chat" data-drawer=${state.drawerOpen ? "open" : "closed"} data-members=${state.membersOpen && room ? "open" : "closed"}>
      <${RoomsDrawer} state=${state} actions=${actions} inert=${narrow && !state.drawerOpen} />
      <div class="center" inert=${overlay}>
      <header class="topbar">
        <button type="button" class="icon-button narrow-only" aria-label=${unread ? `Rooms (${unread} unread)` : "Rooms"}
          aria-expanded=${state.drawerOpen ? "true" : "false"} aria-controls="rooms-drawer" onClick=${() => actions.toggleDrawer()}>
          <${MenuIcon} />${unread > 0 && html`<span class="dot" aria-hidden="true"></span>`}
        </button>
        <div class="title">
          <h1 id="room-title">${title}</h1>
          ${subtitle && html`<p id="topic" class="subtitle">${subtitle}</p>`}
        </div>
        ${room && !room.dm && html`
          <button type="button" id="key" class=${`icon-button${room.sealed ? " on" : ""}`} aria-label=${room.sealed ? "Passphrase (messages here are sealed)" : "Passphrase"}
            onClick=${() => actions.passphrase(room.name)}><${LockIcon} /></button>`}
        ${room && html`
          <button type="button" class="icon-button" aria-label=${room.dm ? "About this conversation" : "Members"} aria-expanded=${state.membersOpen ? "true" : "false"}
            aria-controls="members" onClick=${actions.toggleMembers}><${PeopleIcon} /></button>`}
        <button type="button" class="icon-button logout" aria-label="Log out" onClick=${actions.logout} disabled=${state.busy}>
          <${LogoutIcon} /><span class="wide-only" aria-hidden="true">Log out</span>
        </button>
      </header>
      <${LinkBanner} link=${state.link} />
      <main class="room" aria-label=${room ? title : "No room"}>
        ${room && html`<${SearchBar} room=${room} search=${state.search} actions=${actions} />`}
        ${room
          ? html`<${MessageList} room=${room} actions=${actions} me=${state.me} />`
          : html`<div class="welcome"><h2>Welcome, ${state.me}</h2><p>Join a room in the ${narrow ? "rooms menu" : "list on the left"}: type its name (try lobby) and press Join. A room that does not exist yet is made for you.</p>
              ${narrow && html`<button type="button" class="primary" onClick=${() => actions.toggleDrawer(true)}>Choose a room</button>`}</div>`}
        <${Output} lines=${state.output} actions=${actions} />
        <${Toast} toast=${state.toast} actions=${actions} />
        ${room?.typing?.length > 0 && html`<p class="typing" aria-live="polite">${presenceWords(room.typing)}</p>`}
        <${Composer} room=${room} actions=${actions} compose=${state.compose} />
      </main>
      </div>
      ${state.membersOpen && room && html`<${MembersPanel} state=${state} room=${room} actions=${actions} inert=${false} />`}
      ${overlay && html`<button type="button" class="backdrop" tabindex="-1" aria-label="Close" onClick=${() => (actions.toggleDrawer(false), actions.closeMembers())}></button>`}
      <${PassphraseDialog} state=${state} actions=${actions} />
    </div>`;
}

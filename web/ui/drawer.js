// The rooms pane: a column on a wide screen, a drawer on a phone. Who you
// are (and your account), the rooms and direct conversations you are in
// with their unread counts and mentions, joining a room, writing to a user,
// every room of the cluster, and desktop notifications for mentions.
import { html } from "../html.js";
import { CloseIcon, LockIcon } from "./icons.js";
import { nameKey } from "../../lib/wire/names.ts";

function RoomButton({ room, current, actions }) {
  const name = room.dm ? room.name.slice(1) : room.name;
  const shown = `${room.dm ? "@" : "#"}${name}`; // the accessible name starts with the visible text (WCAG 2.5.3)
  // The badges' counts are drawn by style.css from data-count, so the button's visible text ("#lobby") is
  // where its accessible name starts ("#lobby, 2 unread, 1 mentioning you"), as speech input needs.
  const counts = [room.unread ? `${room.unread} unread` : "", room.mentions ? `${room.mentions} mentioning you` : ""].filter(Boolean);
  return html`
    <li>
      <button type="button" class=${`room-button${current ? " current" : ""}${room.unread ? " has-unread" : ""}`}
        aria-current=${current ? "page" : undefined} aria-label=${[shown, room.joining ? "rejoining" : "", room.sealed ? "sealed" : "", ...counts].filter(Boolean).join(", ")}
        onClick=${() => actions.select(room.key)}>
        <span class="room-name">${shown}</span>
        ${room.sealed && html`<${LockIcon} />`}
        ${room.mentions > 0 && html`<span class="badge mention-badge" aria-hidden="true" data-count=${`@${room.mentions}`}></span>`}
        ${room.unread > 0 && html`<span class="badge" aria-hidden="true" data-count=${room.unread}></span>`}
      </button>
    </li>`;
}

export function RoomsDrawer({ state, actions, inert }) {
  const rooms = state.order.map((k) => state.rooms[k]).filter(Boolean);
  const joined = rooms.filter((r) => !r.dm), dms = rooms.filter((r) => r.dm);
  const join = (e) => {
    e.preventDefault();
    const input = e.currentTarget.elements.room;
    const name = input.value.trim();
    if (name === "") return;
    input.value = "";
    void actions.join(name);
  };
  const dm = (e) => {
    e.preventDefault();
    const input = e.currentTarget.elements.user;
    const name = input.value.trim().replace(/^@/, "");
    if (name === "") return;
    input.value = "";
    void actions.openConversation(name);
  };
  return html`
    <nav id="rooms-drawer" class="drawer" aria-label="Rooms and conversations" inert=${inert}>
      <div class="drawer-head">
        <p class="brand"><img src="favicon.svg" alt="" width="24" height="24" />DistChat</p>
        <button type="button" class="icon-button narrow-only" aria-label="Close the rooms list" onClick=${() => actions.toggleDrawer(false)}><${CloseIcon} /></button>
      </div>
      <section class="me" aria-label="You">
        <p><span class="sr">Logged in as </span><strong>${state.me}</strong> ${state.registered ? html`<span class="tag">registered</span>` : ""}</p>
        <div class="buttons">
          ${state.registered
            ? html`<button type="button" onClick=${() => actions.openAccount("password")}>Change password</button>
                <button type="button" onClick=${() => actions.openAccount("unregister")}>Unregister</button>`
            : html`<button type="button" id="account" onClick=${() => actions.openAccount("register")}>Register this name</button>`}
        </div>
        ${state.notify === "default" && html`<button type="button" class="link" onClick=${actions.enableNotifications}>Notify me when I am mentioned</button>`}
        ${state.notify === "granted" && html`<p class="hint">Mentions show as desktop notifications.</p>`}
      </section>
      <form class="inline-form" onSubmit=${join}>
        <label for="join-name">Room name</label>
        <div class="row">
          <input id="join-name" name="room" autocomplete="off" autocapitalize="none" spellcheck="false" placeholder="e.g. lobby"
            aria-describedby="join-hint" />
          <button type="submit">Join</button>
        </div>
        <p id="join-hint" class="hint">A room that does not exist yet is made for you (as /join does).</p>
      </form>
      <h2 id="rooms-heading">Rooms</h2>
      ${joined.length === 0 ? html`<p class="hint">None yet: join one above.</p>` : html`
        <ul id="joined" class="room-list" aria-labelledby="rooms-heading">
          ${joined.map((r) => html`<${RoomButton} key=${r.key} room=${r} current=${state.current === r.key} actions=${actions} />`)}
        </ul>`}
      <h2 id="dms-heading">Direct messages</h2>
      ${dms.length > 0 && html`
        <ul class="room-list" aria-labelledby="dms-heading">
          ${dms.map((r) => html`<${RoomButton} key=${r.key} room=${r} current=${state.current === r.key} actions=${actions} />`)}
        </ul>`}
      <form class="inline-form" onSubmit=${dm}>
        <label for="dm-name">Write to a user</label>
        <div class="row">
          <input id="dm-name" name="user" autocomplete="off" autocapitalize="none" spellcheck="false" placeholder="user name" />
          <button type="submit">Open</button>
        </div>
      </form>
      <h2 id="all-heading">All rooms</h2>
      <button type="button" onClick=${actions.listRooms}>${state.allRooms === null ? "Show every room" : "Refresh the list"}</button>
      ${state.allRooms !== null && html`
        <ul class="all-rooms" aria-label="All rooms">
          ${state.allRooms.length === 0 && html`<li class="hint">No rooms yet.</li>`}
          ${state.allRooms.map((name) => html`
            <li key=${name}>
              <span>#${name}</span>
              ${state.rooms[nameKey(name)] ? html`<span class="hint">joined</span>` : html`<button type="button" class="small" aria-label=${`Join ${name}`} onClick=${() => actions.join(name)}>Join</button>`}
            </li>`)}
        </ul>`}
    </nav>`;
}

// The room panel: who is in the room (with owner and operators marked), its
// topic and mode, and what one can do with it (its passphrase, leaving). A
// column on a wide screen, a panel over the messages on a phone.
import { html } from "../html.js";
import { nickClass } from "../format.js";
import { CloseIcon } from "./icons.js";
import { nameKey } from "../../lib/wire/names.ts";
import { modeWords } from "../../lib/client/wording.ts";

/** "owner" / "operator" / "voiced" for a name, from the room's roles ("~name", "@name", "%name"). */
function roleOf(roles, name) {
  const k = nameKey(name);
  if (roles.some((r) => r[0] === "~" && nameKey(r.slice(1)) === k)) return "owner";
  if (roles.some((r) => r[0] === "@" && nameKey(r.slice(1)) === k)) return "operator";
  if (roles.some((r) => r[0] === "%" && nameKey(r.slice(1)) === k)) return "voiced";
  return "";
}

export function MembersPanel({ state, room, actions, inert }) {
  if (!room) return null;
  const members = room.members ?? [];
  const title = room.dm ? "Conversation" : "Members";
  return html`
    <aside id="members" class="panel" aria-labelledby="members-title" inert=${inert}>
      <div class="panel-head">
        <h2 id="members-title">${title}${room.members && !room.dm ? html` <span class="count">(${members.length})</span>` : ""}</h2>
        <button type="button" class="icon-button" aria-label="Close the member list" onClick=${actions.closeMembers}><${CloseIcon} /></button>
      </div>
      ${room.dm
        ? html`<p>A direct conversation with <strong>${room.name.slice(1)}</strong>. ${room.sealed ? "Sealed end to end." : "Not sealed: sealed only when you are both registered."}</p>`
        : html`
          ${room.topic ? html`<p class="topic-full"><span class="sr">Topic: </span>${room.topic}${room.topicBy ? html` <span class="hint">(set by ${room.topicBy})</span>` : ""}</p>` : ""}
          ${(/[isl]/.test(room.mode ?? "") || (room.roles ?? []).some((r) => /^\*(m|k|-t|-n)/.test(r))) && html`<p class="hint">${modeWords(room.mode ?? "-", room.roles ?? [])}: operators /invite people.</p>`}
          ${room.members === null ? html`<p class="hint">Loading…</p>` : html`
            <ul class="member-list">
              ${members.map((m) => html`
                <li key=${m}>
                  <span class=${`nick ${nickClass(m)}`}>${m}</span>
                  ${nameKey(m) === nameKey(state.me ?? "") && html`<span class="tag">you</span>`}
                  ${roleOf(room.roles, m) && html`<span class="tag">${roleOf(room.roles, m)}</span>`}
                </li>`)}
            </ul>`}`}
      <div class="panel-actions">
        ${!room.dm && html`<button type="button" onClick=${() => actions.passphrase(room.name)}>${room.sealed ? "Change passphrase…" : "Set a passphrase…"}</button>`}
        <button type="button" class="danger" onClick=${() => actions.leave(room.key)}>${room.dm ? "Close conversation" : "Leave room"}</button>
      </div>
    </aside>`;
}

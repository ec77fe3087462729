// Search: a search landmark above the open room's messages (a labelled box,
// "all my rooms", Search), and the hits under it, best first (mentions:
// newest first), each a button that shows the message in its room — the
// reply quote's jump (web/controller.js jumpTo). The client core does the
// searching (lib/client/message_acts.ts: the server's index, or in a sealed
// room what the page has opened).
import { useState } from "preact/hooks";
import { html } from "../html.js";
import { nickClass, timeLabel, visible } from "../format.js";
import { CloseIcon } from "./icons.js";

/** A hit's text as shown: a /me action as "* user text". */
const hitText = (h) => visible(h.msg.startsWith("\u0001me ") ? `* ${h.userName} ${h.msg.slice(4)}` : h.msg);

export function SearchBar({ room, search, actions }) {
  const [query, setQuery] = useState("");
  const [everywhere, setEverywhere] = useState(false);
  const submit = (e) => {
    e.preventDefault();
    if (query.trim() !== "") void actions.search(query.trim(), everywhere);
  };
  const where = everywhere ? "all your rooms" : room.dm ? "this conversation" : room.name;
  return html`
    <form class="search" role="search" aria-label="Search messages" onSubmit=${submit}>
      <label for="search-box" class="visually-hidden">Search messages in ${where}</label>
      <input id="search-box" type="search" placeholder=${`Search ${where}`} value=${query} onInput=${(e) => setQuery(e.currentTarget.value)} />
      ${!room.dm && html`
        <label class="everywhere"><input type="checkbox" checked=${everywhere} onChange=${(e) => setEverywhere(e.currentTarget.checked)} /> All rooms</label>`}
      <button type="submit">Search</button>
    </form>
    ${search && html`<${SearchResults} search=${search} actions=${actions} />`}`;
}

function SearchResults({ search, actions }) {
  const title = search.what === "mentions" ? "Mentions, newest first" : `Results for “${search.query ?? ""}”, best first`;
  return html`
    <section class="search-results" aria-label="Search results">
      <div class="search-head">
        <h2>${search.hits.length === 0 ? (search.what === "mentions" ? "No mentions" : `Nothing found for “${search.query ?? ""}”`) : title}</h2>
        <button type="button" class="icon-button" aria-label="Close the results" onClick=${actions.closeSearch}><${CloseIcon} /></button>
      </div>
      <ol>
        ${search.hits.map((h) => html`
          <li key=${`${h.groupName} ${h.msgId.origin}.${h.msgId.n}`}>
            <button type="button" class="hit" onClick=${() => actions.showHit(h)}>
              <span class="hit-where"><span class="visually-hidden">Show </span>${h.groupName}${h.sentAt ? ` · ${timeLabel(h.sentAt)}` : ""}</span>
              <span><strong class=${nickClass(h.userName)}>${h.userName}</strong> <span dir="auto">${hitText(h)}</span></span>
            </button>
          </li>`)}
      </ol>
      ${search.more && html`<p class="hint">More match: add words to narrow the search.</p>`}
    </section>`;
}

// A room's messages: a list that scrolls on its own (the header and the
// composer stay put), day separators, messages grouped by sender with the
// sender's colour, mentions highlighted, notices as quiet lines. It opens at
// the newest message and follows new ones while the reader is at the bottom;
// scrolled up, a "Jump to newest" button says how many came since.
import { useLayoutEffect, useRef, useState } from "preact/hooks";
import { html } from "../html.js";
import { blocks, nickClass, timeLabel } from "../format.js";
import { DownIcon, LockIcon } from "./icons.js";

/** Within this many pixels of the end, the reader is "at the newest". */
const NEAR = 48;

function Line({ item, pending }) {
  const sending = pending || item.unconfirmed !== undefined;
  const cls = ["line", item.mention ? "mention" : "", item.view === "locked" ? "locked" : "", item.view === "tampered" ? "tampered" : "", sending ? "pending" : ""];
  return html`
    <li class=${cls.filter(Boolean).join(" ")} data-id=${pending ? undefined : item.key} data-pending=${pending ? item.key : undefined}>
      <span class="from sr">${item.user}</span>
      <span class="text" dir="auto">${item.view === "sealed" && html`<span class="sr">🔒 </span><${LockIcon} />`}${item.text}</span>
      ${item.mention && html`<span class="sr"> (mentions you)</span>`}
      ${sending && html`<span class="state">sending…</span>`}
    </li>`;
}

function Group({ block, pending }) {
  return html`
    <li class="group">
      <div class="group-head" aria-hidden="true">
        <span class=${`nick ${nickClass(block.user)}`}>${block.user}</span>
        <time datetime=${new Date(block.at).toISOString()}>${timeLabel(block.at)}</time>
      </div>
      <ul class="lines">
        ${block.items.map((it) => html`<${Line} key=${it.key} item=${it} pending=${pending} />`)}
      </ul>
    </li>`;
}

export function MessageList({ room, actions }) {
  const list = useRef(null);
  const [away, setAway] = useState(null); // items shown when the reader scrolled up (null: at the newest)
  const last = useRef({ key: null, count: 0, first: null, height: 0, atEnd: true });
  const items = room.items, pending = room.pending;
  const count = items.length + pending.length;

  // Opening a room shows its newest; new messages are followed while the reader is at the end;
  // older ones loaded above keep what the reader sees where it was.
  useLayoutEffect(() => {
    const el = list.current;
    if (!el) return;
    const was = last.current;
    const first = items[0]?.key ?? null;
    if (was.key !== room.key) el.scrollTop = el.scrollHeight;
    else if (first !== was.first && count > was.count && !was.atEnd) el.scrollTop += el.scrollHeight - was.height;
    else if (was.atEnd) el.scrollTop = el.scrollHeight;
    if (was.key !== room.key) setAway(null);
    last.current = { key: room.key, count, first, height: el.scrollHeight, atEnd: el.scrollHeight - el.scrollTop - el.clientHeight < NEAR };
  });

  const onScroll = () => {
    const el = list.current;
    const atEnd = el.scrollHeight - el.scrollTop - el.clientHeight < NEAR;
    last.current = { ...last.current, atEnd, height: el.scrollHeight };
    if (atEnd && away !== null) setAway(null);
    else if (!atEnd && away === null) setAway(count);
    if (el.scrollTop < NEAR && room.more && !room.loadingOlder) actions.loadOlder(room.key);
  };
  const jump = () => {
    const el = list.current;
    el.scrollTop = el.scrollHeight;
    last.current = { ...last.current, atEnd: true };
    setAway(null);
    el.focus();
  };
  const fresh = away === null ? 0 : Math.max(0, count - away);
  const label = room.dm ? `Conversation with ${room.name.slice(1)}` : `Messages in ${room.name}`;
  const mine = pending.length ? [{ type: "group", key: "pending", user: pending[0].user, at: pending[0].at, items: pending }] : [];
  return html`
    <div class="messages-wrap">
      <div id="messages" class="messages" ref=${list} onScroll=${onScroll} role="log" aria-label=${label} tabindex="0">
      <ol class="stream">
        ${room.more && html`
          <li class="older">
            <button type="button" onClick=${() => actions.loadOlder(room.key)} disabled=${room.loadingOlder}>
              ${room.loadingOlder ? "Loading older messages…" : "Load older messages"}
            </button>
          </li>`}
        ${!room.more && items.length > 0 && html`<li class="start">${room.dm ? "The start of this conversation" : `The start of ${room.name}`}</li>`}
        ${items.length === 0 && pending.length === 0 && html`<li class="empty">${room.joining ? `Joining ${room.dm ? "this conversation" : room.name} again once a server answers…` : "No messages yet. Say hello!"}</li>`}
        ${blocks(items).map((b) =>
          b.type === "day"
            ? html`<li key=${b.key} class="day"><span>${b.label}</span></li>`
            : b.type === "group"
            ? html`<${Group} key=${b.key} block=${b} />`
            : html`<li key=${b.key} class=${b.type} data-id=${b.type === "action" ? b.item.key : undefined} data-notice=${b.type === "notice" ? b.item.key : undefined}>
                <span class="text" dir="auto">${b.item.text}</span>
                <time datetime=${new Date(b.item.at).toISOString()}>${timeLabel(b.item.at)}</time>
                ${b.item.unconfirmed !== undefined && html`<span class="state">sending…</span>`}
              </li>`
        )}
        ${mine.map((b) => html`<${Group} key="pending" block=${b} pending=${true} />`)}
      </ol>
      </div>
      ${away !== null && html`
        <button type="button" class="jump" onClick=${jump}>
          <${DownIcon} /> ${fresh > 0 ? `Jump to newest (${fresh} new)` : "Jump to newest"}
        </button>`}
    </div>`;
}

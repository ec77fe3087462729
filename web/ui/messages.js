// A room's messages: a list that scrolls on its own (the header and the
// composer stay put), day separators, messages grouped by sender with the
// sender's colour, mentions highlighted, notices as quiet lines. It opens at
// the newest message and follows new ones while the reader is at the bottom;
// scrolled up, a "Jump to newest" button says how many came since.
import { useLayoutEffect, useRef, useState } from "preact/hooks";
import { html } from "../html.js";
import { blocks, nickClass, timeLabel } from "../format.js";
import { nameKey } from "../../lib/wire/names.ts";
import { DownIcon, LockIcon } from "./icons.js";

/** Within this many pixels of the end, the reader is "at the newest". */
const NEAR = 48;

/** Quick reactions offered on every message (any other: /react ID EMOJI). */
const QUICK = ["👍", "❤️", "😂", "🎉"];

/** A message's own controls: reply, react, and for its author (or a moderator) edit and delete. */
function LineActions({ item, actions, canDelete }) {
  if (item.deleted) return null;
  return html`
    <span class="line-actions">
      <button type="button" class="icon-text" onClick=${() => actions.reply(item.key)} aria-label=${`Reply to ${item.user}`}>Reply</button>
      ${QUICK.map((e) => html`<button type="button" class="icon-text" onClick=${() => actions.react(item.key, e)} aria-label=${`React ${e}`}>${e}</button>`)}
      ${item.mine && html`<button type="button" class="icon-text" onClick=${() => actions.edit(item.key)} aria-label="Edit">Edit</button>`}
      ${(item.mine || canDelete) && html`<button type="button" class="icon-text" onClick=${() => actions.remove(item.key)} aria-label="Delete">Delete</button>`}
    </span>`;
}

function Line({ item, pending, actions, canDelete }) {
  const sending = pending || item.unconfirmed !== undefined;
  const cls = ["line", item.mention ? "mention" : "", item.view === "locked" ? "locked" : "", item.view === "tampered" ? "tampered" : "", sending ? "pending" : "", item.deleted ? "deleted" : ""];
  return html`
    <li class=${cls.filter(Boolean).join(" ")} data-id=${pending ? undefined : item.key} data-pending=${pending ? item.key : undefined}>
      <span class="from sr">${item.user}</span>
      ${item.re && html`
        <button type="button" class="quote" onClick=${() => actions.jumpTo(item.re)} aria-label=${`Replying to ${item.quote?.user ?? "a message"}: show it`}>
          ↪ ${item.quote ? html`<b>${item.quote.user}</b> ${item.quote.text.slice(0, 80)}` : "an earlier message"}
        </button>`}
      <span class="text" dir="auto">${item.view === "sealed" && html`<span class="sr">🔒 </span><${LockIcon} />`}${item.text}</span>
      ${item.edited && html`<span class="edited"> (edited)</span>`}
      ${item.mention && html`<span class="sr"> (mentions you)</span>`}
      ${sending && html`<span class="state">sending…</span>`}
      ${item.reactions?.length > 0 && html`
        <span class="reactions">
          ${item.reactions.map(([e, n]) => html`<button type="button" class="reaction" onClick=${() => actions.react(item.key, e)} aria-label=${`${e} ${n}: toggle yours`}>${e} ${n}</button>`)}
        </span>`}
      ${!pending && actions && html`<${LineActions} item=${item} actions=${actions} canDelete=${canDelete} />`}
    </li>`;
}

function Group({ block, pending, actions, canDelete }) {
  return html`
    <li class="group">
      <div class="group-head" aria-hidden="true">
        <span class=${`nick ${nickClass(block.user)}`}>${block.user}</span>
        <time datetime=${new Date(block.at).toISOString()}>${timeLabel(block.at)}</time>
      </div>
      <ul class="lines">
        ${block.items.map((it) => html`<${Line} key=${it.key} item=${it} pending=${pending} actions=${actions} canDelete=${canDelete} />`)}
      </ul>
    </li>`;
}

export function MessageList({ room, actions, me }) {
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
    // At the end when last measured, and something came or grew since: follow it. Nothing changed: leave the scroll
    // alone — the reader may have just scrolled up, and the scroll event that says so may not have come yet.
    else if (was.atEnd && (count !== was.count || el.scrollHeight !== was.height)) el.scrollTop = el.scrollHeight;
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
  const canDelete = !room.dm && room.roles.some((r) => /^[~@]/.test(r) && nameKey(r.slice(1)) === nameKey(me ?? ""));
  // The "new messages" line: after the read marker's message, when later ones from others are shown.
  const markAt = room.mark === null ? -1 : items.findIndex((i) => i.key === room.mark);
  const newFrom = markAt >= 0 && items.slice(markAt + 1).some((i) => i.kind === "message" && !i.mine) ? items[markAt + 1]?.key : null;
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
        ${blocks(items, Date.now(), newFrom).map((b) =>
          b.type === "day"
            ? html`<li key=${b.key} class="day"><span>${b.label}</span></li>`
            : b.type === "new"
            ? html`<li key="new" class="new-line"><span>New messages</span></li>`
            : b.type === "group"
            ? html`<${Group} key=${b.key} block=${b} actions=${actions} canDelete=${canDelete} />`
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

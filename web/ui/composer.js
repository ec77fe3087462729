// The message box. Enter sends, Shift+Enter starts a new line; lines that
// start with / are the terminal's commands. Text is never lost: nothing cuts
// it (no maxlength), a counter shows the bytes near the limit, and a line the
// client refuses (too long, no room) stays in the box with the reason shown;
// Send is disabled while it is too long (Enter still says why). With no room
// open the box is disabled, its placeholder saying what to do.
// A draft is kept per room while the page is open.
import { useEffect, useRef, useState } from "preact/hooks";
import { html } from "../html.js";
import { ChatClient } from "../../lib/client/chat.ts";
import { SendIcon } from "./icons.js";

/** The counter shows from this share of the limit on. */
const SHOW_FROM = 0.8;
const drafts = new Map();
const number = (n) => n.toLocaleString("en");

/** Whether any room's box holds typed text (the page waits before reloading itself: web/server_watch.js). */
export function hasDraft() {
  return [...drafts.values()].some((t) => t.trim() !== "");
}

export function Composer({ room, actions, compose }) {
  const box = useRef(null);
  const [text, setText] = useState(drafts.get(room?.key) ?? "");
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    setText(drafts.get(room?.key) ?? "");
    if (matchMedia("(min-width: 48rem)").matches) box.current?.focus();
  }, [room?.key]);
  useEffect(() => grow(box.current), [text]);
  // Editing a message: its text comes into the box.
  useEffect(() => {
    if (compose?.mode === "edit") {
      setText(compose.text);
      box.current?.focus();
    } else if (compose?.mode === "reply") box.current?.focus();
  }, [compose?.mode, compose?.id]);
  const answering = compose && room && compose.room === room.key ? compose : null;
  const limit = actions.limit();
  const bytes = ChatClient.bytes(text);
  const over = bytes > limit;
  const showCount = bytes >= limit * SHOW_FROM;
  const update = (value) => {
    drafts.set(room?.key, value);
    setText(value);
    if (value !== "" && !value.startsWith("/")) actions.typing();
  };
  const submit = async (e) => {
    e.preventDefault();
    if (text.trim() === "" || busy) return;
    setBusy(true);
    const taken = await actions.send(text);
    setBusy(false);
    if (taken) update("");
    box.current?.focus();
  };
  const keydown = (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      e.currentTarget.form.requestSubmit();
    }
    if (e.key === "Escape" && answering) actions.cancelCompose();
  };
  const where = room ? (room.dm ? room.name.slice(1) : room.name) : null;
  // Nothing to write into yet: no room open, or one a reload kept that no server has answered for yet.
  const closed = room === null ? "Join a room to write" : room.joining ? `Rejoining ${where}…` : null;
  return html`
    <form class="composer" onSubmit=${submit}>
      ${answering && html`
        <div class="answering">
          <span>${answering.mode === "edit" ? "Editing your message" : html`Replying to <b>${answering.user}</b>: ${answering.text.slice(0, 80)}`}</span>
          <button type="button" class="link" onClick=${actions.cancelCompose} aria-label=${answering.mode === "edit" ? "Cancel the edit" : "Cancel the reply"}>Cancel</button>
        </div>`}
      <label for="text" class="sr">${where ? `Message ${where}` : "Message"}</label>
      <textarea id="text" ref=${box} rows="1" dir="auto" value=${text} onInput=${(e) => update(e.currentTarget.value)} onKeyDown=${keydown}
        disabled=${closed !== null} placeholder=${closed ?? `Message ${where}${room.sealed ? " (sealed)" : ""}`}
        aria-describedby="composer-help counter" aria-invalid=${over ? "true" : "false"}></textarea>
      <span id="counter" class=${`counter${over ? " over" : ""}`} aria-live=${over ? "polite" : "off"} hidden=${!showCount}>
        ${over ? `${number(bytes)} / ${number(limit)} bytes: too long to send` : `${number(bytes)} / ${number(limit)} bytes`}
      </span>
      <button type="submit" id="send" class="primary send" disabled=${text.trim() === "" || busy || over || closed !== null}
        aria-label="Send">
        <${SendIcon} /><span class="wide-only" aria-hidden="true">Send</span>
      </button>
      <p id="composer-help" class="sr">Enter sends, Shift+Enter starts a new line. Commands start with a slash; /help lists them.</p>
    </form>`;
}

/** Grows the box with its text, up to about six lines (then it scrolls). */
function grow(el) {
  if (!el) return;
  el.style.height = "auto";
  el.style.height = `${Math.min(el.scrollHeight, 160)}px`;
}

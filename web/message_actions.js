// The page's actions on one message of the open room (web/ui/messages.js):
// reply to it and edit it (the composer quotes or holds it), react to it,
// delete it, and bring a message into view (a reply's quote, a search hit).
import { parseMsgId } from "../lib/client/message_acts.ts";

/** `chat()`: the client core now (null before login); `ui`: the page's ChatUi (its notices). */
export function messageActions(store, chat, ui) {
  const set = (f) => store.update(f);
  /** The item `key` of the open room, and its room. */
  const itemIn = (key) => {
    const s = store.get();
    const room = s.rooms[s.current];
    return room ? { room, item: room.items.find((i) => i.key === key) } : null;
  };

  return {
    /** Answer item `key` of the open room: the composer quotes it. */
    reply(key) {
      const at = itemIn(key);
      if (at?.item) set((s) => ({ ...s, compose: { mode: "reply", room: at.room.key, id: key, user: at.item.user, text: at.item.text } }));
    },
    /** Edit our item `key`: the composer holds its text. */
    edit(key) {
      const at = itemIn(key);
      if (at?.item) set((s) => ({ ...s, compose: { mode: "edit", room: at.room.key, id: key, user: at.item.user, text: at.item.text } }));
    },
    cancelCompose: () => set((s) => ({ ...s, compose: null })),
    /** Toggles our reaction `emoji` on item `key`. */
    react(key, emoji) {
      const at = itemIn(key);
      if (at) void chat()?.acts.react(at.room.name, parseMsgId(key), emoji);
    },
    /** Deletes item `key` (ours, or any in a room we moderate). */
    remove(key) {
      const at = itemIn(key);
      if (at) void chat()?.acts.del(at.room.name, parseMsgId(key));
    },
    /** Brings the message `key` answers into view and marks it a moment. */
    jumpTo(key) {
      const el = document.querySelector(`[data-id="${CSS.escape(key)}"]`);
      if (!el) return ui.notice("that message is older than what is loaded here: load older messages first");
      el.scrollIntoView({ block: "center" });
      el.classList.add("flash");
      setTimeout(() => el.classList.remove("flash"), 1500);
    },
  };
}

// The page's search actions (web/ui/search.js): run the core's /search (the
// server's index, or what the page opened of a sealed room), close the
// results, show a hit in its room with the reply quote's jump.
import { nameKey } from "../lib/wire/names.ts";

/** `chat()`: the client core now (null before login); `actions()`: the controller's actions (select, jumpTo). */
export function searchActions(store, chat, actions) {
  const set = (f) => store.update(f);
  return {
    /** Searches the open room, or (`everywhere`) every room of the session; the hits come to the page's `hits`. */
    async search(query, everywhere) {
      set((s) => ({ ...s, searchQuery: query }));
      await chat()?.run({ kind: "search", text: query, everywhere });
    },
    closeSearch: () => set((s) => ({ ...s, search: null })),
    /** Opens the hit's room when it is another, then brings the message into view and marks it a moment. */
    showHit(hit) {
      const key = nameKey(hit.groupName);
      const s = store.get();
      if (s.current !== key && s.rooms[key]) actions().select(key);
      // After the room is drawn.
      setTimeout(() => actions().jumpTo(`${hit.msgId.origin}.${hit.msgId.n}`), s.current === key ? 0 : 100);
    },
  };
}

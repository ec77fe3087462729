// The DistChat web page: one store (web/store.js), the client core
// (lib/client/chat.ts, the terminal's very code) wired to it by
// web/controller.js, and the components of web/ui/ drawing it. Received text
// only ever reaches the page as text (Preact sets textContent).
import { html, render } from "./html.js";
import { createStore, useStore } from "./store.js";
import { createController, initialState } from "./controller.js";
import { LoginScreen } from "./ui/login.js";
import { AccountScreen } from "./ui/account.js";
import { ChatScreen } from "./ui/chat.js";
import { hasDraft } from "./ui/composer.js";

const store = createStore(initialState);
const { actions, inspect } = createController(store, { drafting: hasDraft });

function App() {
  const state = useStore(store);
  if (state.screen === "login") return html`<${LoginScreen} state=${state} actions=${actions} />`;
  if (state.screen === "account") return html`<${AccountScreen} state=${state} actions=${actions} />`;
  return html`<${ChatScreen} state=${state} actions=${actions} />`;
}

// The title counts the mentions not yet seen (a badge in the tab).
store.subscribe((s) => {
  const mentions = Object.values(s.rooms).reduce((n, r) => n + r.mentions, 0);
  const title = mentions > 0 ? `(${mentions}) DistChat` : "DistChat";
  if (document.title !== title) document.title = title;
});

globalThis.distchat = inspect;
render(html`<${App} />`, document.getElementById("app"));
void actions.boot();

// Registering the name, changing its password, dropping the account: a
// screen of its own, as login is. The password never leaves the page: the
// server gets a SCRAM verifier (lib/accounts/scram.ts).
import { useEffect, useRef } from "preact/hooks";
import { html } from "../html.js";

const WHAT = {
  register: {
    title: (me) => `Register ${me}`,
    text: "From then on the name logs in only with this password, on every server. Direct messages between registered users are sealed end to end.",
    button: "Register",
  },
  password: {
    title: () => "Change your password",
    text: "Direct messages sealed to your old key can no longer be opened once it changes.",
    button: "Change password",
  },
  unregister: {
    title: (me) => `Drop the account ${me}`,
    text: "The name becomes anyone's once you log out.",
    button: "Drop the account",
  },
};

export function AccountScreen({ state, actions }) {
  const what = WHAT[state.account];
  const first = useRef(null);
  useEffect(() => first.current?.focus(), [state.account]);
  const submit = (e) => {
    e.preventDefault();
    const f = e.currentTarget.elements;
    void actions.submitAccount(state.account, { current: f.current?.value ?? "", fresh: f.fresh?.value ?? "", again: f.again?.value ?? "" });
  };
  const needsCurrent = state.account !== "register", needsNew = state.account !== "unregister";
  return html`
    <main id="account-view" class="screen">
      <form class="card" onSubmit=${submit} aria-labelledby="account-title">
        <h1 id="account-title">${what.title(state.me)}</h1>
        <p class="lede">${what.text}</p>
        ${needsCurrent && html`
          <label for="account-old">Current password</label>
          <input id="account-old" name="current" type="password" ref=${first} autocomplete="current-password" required />`}
        ${needsNew && html`
          <label for="account-password">New password <span class="hint">(at least 8 characters)</span></label>
          <input id="account-password" name="fresh" type="password" ref=${needsCurrent ? null : first} autocomplete="new-password" required minlength="8" />
          <label for="account-again">The same password again</label>
          <input id="account-again" name="again" type="password" autocomplete="new-password" required minlength="8" />`}
        <div class="buttons">
          <button type="submit" class="primary" disabled=${state.busy}>${state.busy ? "Working…" : what.button}</button>
          <button type="button" onClick=${actions.closeAccount} disabled=${state.busy}>Cancel</button>
        </div>
        <p id="account-status" class="note" role="status">${state.busy ? state.working ?? "" : ""}</p>
        <p id="account-error" class="error" role="alert">${state.accountError}</p>
      </form>
    </main>`;
}

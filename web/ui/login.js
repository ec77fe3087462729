// The login screen: a screen of its own (nothing of the chat behind it).
import { useEffect, useRef } from "preact/hooks";
import { html } from "../html.js";

export function LoginScreen({ state, actions }) {
  const password = useRef(null);
  const name = useRef(null);
  useEffect(() => (state.loginName ? password.current : name.current)?.focus(), []);
  const submit = (e) => {
    e.preventDefault();
    const f = e.currentTarget;
    void actions.login(f.elements.name.value.trim(), f.elements.password.value);
  };
  return html`
    <main id="login-view" class="screen">
      <form class="card" onSubmit=${submit} aria-labelledby="login-title" novalidate>
        <div class="brand"><img src="favicon.svg" alt="" width="40" height="40" /><h1 id="login-title">DistChat</h1></div>
        <p class="lede">Chat rooms on a network of servers that carries on when one of them fails.</p>
        <label for="login-name">Your name</label>
        <input id="login-name" name="name" ref=${name} value=${state.loginName} autocomplete="username" autocapitalize="none"
          spellcheck="false" required aria-describedby="login-name-hint" />
        <p id="login-name-hint" class="hint">Any free name: letters, digits, dot, dash or underscore, up to 32.</p>
        <label for="login-password">Password <span class="hint">(only for a registered name)</span></label>
        <input id="login-password" name="password" type="password" ref=${password} autocomplete="current-password" />
        ${state.loginNote && html`<p class="note">${state.loginNote}</p>`}
        <button type="submit" class="primary" disabled=${state.busy}>${state.busy ? "Logging in…" : "Log in"}</button>
        <p id="login-status" class="note" role="status">${state.busy ? state.working ?? "" : ""}</p>
        <p id="login-error" class="error" role="alert">${state.loginError}</p>
      </form>
    </main>`;
}

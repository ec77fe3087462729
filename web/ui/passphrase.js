// A room's passphrase, typed twice, in a modal dialog (the browser's own
// <dialog>: focus stays in it, Escape closes it). Messages sent to the room
// are then sealed in the terminal's dc1 format (docs/SEALED_FORMAT.md); the
// passphrase stays in this page's memory.
import { useEffect, useRef, useState } from "preact/hooks";
import { html } from "../html.js";

export function PassphraseDialog({ state, actions }) {
  const dialog = useRef(null);
  const [error, setError] = useState("");
  const room = state.passphrase?.room ?? null;
  const sealed = room !== null && state.rooms[state.current]?.sealed;
  useEffect(() => {
    const d = dialog.current;
    if (!d) return;
    if (room !== null && !d.open) {
      setError("");
      d.showModal();
    } else if (room === null && d.open) d.close();
  }, [room]);
  const submit = (e) => {
    e.preventDefault();
    const f = e.currentTarget.elements;
    if (f.pass.value === "") return setError("type a passphrase");
    if (f.pass.value !== f.again.value) return setError("the two passphrases differ");
    const value = f.pass.value;
    f.pass.value = f.again.value = "";
    actions.answerPassphrase(value);
  };
  return html`
    <dialog ref=${dialog} class="dialog" aria-labelledby="pass-title" onCancel=${() => actions.answerPassphrase(null)}>
      ${room !== null && html`
        <form onSubmit=${submit}>
          <h2 id="pass-title">Passphrase for ${room}</h2>
          <p class="hint">Messages you send to ${room} are then sealed: the servers cannot read them. Share the passphrase with the others another way; it stays in this page.</p>
          <label for="key-input">Passphrase</label>
          <input id="key-input" name="pass" type="password" autocomplete="off" autofocus />
          <label for="key-again">The same passphrase again</label>
          <input id="key-again" name="again" type="password" autocomplete="off" />
          <p class="error" role="alert">${error}</p>
          <div class="buttons">
            <button type="submit" class="primary">Set passphrase</button>
            ${sealed && html`<button type="button" onClick=${() => actions.forgetPassphrase(room)}>Forget it</button>`}
            <button type="button" onClick=${() => actions.answerPassphrase(null)}>Cancel</button>
          </div>
        </form>`}
    </dialog>`;
}

/**
 * Secrets the terminal client asks for (ChatUi.askSecret): a registered
 * name's password from `--password-file`, else typed hidden in a terminal,
 * new ones twice; outside a terminal, a refusal that names the flag to use.
 *
 * @example
 * ```ts
 * const askSecret = terminalSecrets({ term, tty: true, userName: "bob", password: null });
 * const pass = await askSecret({ kind: "passphrase", room: "lobby" }); // null: cancelled, the user was told
 * ```
 */
import type { SecretAsk } from "./chat.ts";
import type { Terminal } from "./terminal.ts";

/** Fewest characters of a new account password (the web page's rule too, web/controller.js; and IRC's REGISTER). */
export const MIN_PASSWORD_CHARS = 8;

export type SecretsOptions = {
  term: Pick<Terminal, "readSecret" | "notice" | "error">;
  tty: boolean;
  userName: string;
  /** The password of a registered name (from --password-file); null: typed when needed. */
  password: string | null;
};

/** The prompt of each secret. */
function promptOf(ask: SecretAsk, userName: string): string {
  switch (ask.kind) {
    case "login-password":
      return `${ask.user} is registered. Password (not shown): `;
    case "current-password":
      return ask.purpose === "password" ? `Current password for ${userName} (not shown): ` : `Password for ${userName}, to drop the account (not shown): `;
    case "new-password":
      return "New password (not shown): ";
    case "passphrase":
      return `Passphrase for ${ask.room} (not shown): `;
  }
}

/** Why a secret cannot be asked for when stdin is not a terminal. */
function noTerminal(ask: SecretAsk): string {
  if (ask.kind === "passphrase") {
    return "/key is refused: stdin is not a terminal, so the passphrase cannot be typed hidden; start the client with --key-file FILE instead (docs/CLIENT.md)";
  }
  if (ask.kind === "new-password" && ask.purpose === "password") return "a new password must be typed twice, hidden: change it in a terminal";
  return "no password: stdin is not a terminal, so it cannot be typed hidden; start the client with --password-file FILE";
}

/** ChatUi.askSecret for the terminal: a secret, or null (and the user told why). */
export function terminalSecrets(o: SecretsOptions): (ask: SecretAsk) => Promise<string | null> {
  const { term } = o;
  const readSecret = async (prompt: string): Promise<string | null> => {
    try {
      return await term.readSecret(prompt);
    } catch (e) {
      term.notice(`nothing changed (${(e as Error).message})`);
      return null;
    }
  };
  return async (ask) => {
    const existing = ask.kind === "login-password" || ask.kind === "current-password" || (ask.kind === "new-password" && ask.purpose === "register");
    if (existing && o.password) return o.password;
    if (!o.tty) return (term.error(noTerminal(ask)), null);
    const what = ask.kind === "passphrase" ? "passphrase" : "password";
    const first = await readSecret(promptOf(ask, o.userName));
    if (first === null || first === "") return first === "" && what === "passphrase" ? (term.notice("empty passphrase; nothing changed"), null) : null;
    if (ask.kind === "login-password" || ask.kind === "current-password") return first;
    if (what === "password" && first.length < MIN_PASSWORD_CHARS) return (term.error(`a password needs at least ${MIN_PASSWORD_CHARS} characters`), null);
    const again = await readSecret(`The same ${what} again: `);
    if (again !== first) return (term.error(`the two ${what}s differ; nothing changed`), null);
    return first;
  };
}

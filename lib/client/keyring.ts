/**
 * The client's sealed rooms (issue 4, docs/SEALED_FORMAT.md): which rooms
 * have a passphrase — typed with /key, or from a `--key-file` — what to send
 * for a line typed into a room (sealed there, refused when too long), and
 * how to show each message received (opened with a lock mark, or a
 * placeholder; never the text of a message that failed its check).
 *
 * Passphrases from a key file are taken on first use of a room (one key
 * derivation then); RoomKeys caches keys per salt, so a room costs one
 * derivation per sender, not one per message. Runtime-neutral (the page
 * uses it too, without a key file); what derives a key is asynchronous.
 *
 * @example
 * ```ts
 * const ring = new Keyring({ file: readKeyFile("keys.txt") });
 * const out = await ring.outgoing("lobby", "alice", "hi"); // { ok: true, text: "dc1:…", sealed: true }
 * await ring.view("lobby", entry, { tty: false });        // { kind: "sealed", text: "hi" }
 * ```
 */
import { nameKey } from "../wire/names.ts";
import type { KeyFile } from "./key_file.ts";
import type { PollEntry } from "../wire/messages.ts";
import { isSealed, MAX_PLAIN_BYTES, RoomKeys } from "./seal.ts";
import type { Opened } from "./seal.ts";
import { utf8Length } from "../wire/utf8.ts";
import { MAX_MSG_BYTES } from "../wire/messages.ts";
import type { MessageView } from "./wording.ts";

/** What to send for a typed line, or why it is not sent. */
export type Outgoing = { ok: true; text: string; sealed: boolean } | { ok: false; message: string };

export type KeyringOptions = {
  /** Passphrases from `--key-file`, used for a room until /key or /unkey. */
  file?: KeyFile | null;
  /** The keys (tests inject one with a fast key derivation). */
  keys?: RoomKeys;
};


/**
 * Plain texts that begin like one of the client's own marks or placeholders
 * are shown with `[plain]` before them, so that `[sealed]` (or `🔒`) right
 * before a text always means "opened with this room's passphrase".
 */
const LOOKS_LIKE_A_MARK = /^\s*(\[\s*(sealed|tampered|plain)|🔒)/i;

export class Keyring {
  #keys: RoomKeys;
  #file: KeyFile | null;
  /** Rooms whose passphrase was forgotten (/unkey): the key file's does not come back. */
  #forgotten = new Set<string>();

  constructor(o: KeyringOptions = {}) {
    this.#keys = o.keys ?? new RoomKeys();
    this.#file = o.file ?? null;
  }

  /** Key derivations run so far (each costs one scrypt). */
  get derivations(): number {
    return this.#keys.derivations;
  }

  /** Whether messages sent to `room` are sealed (a passphrase typed, or the key file's). */
  has(room: string): boolean {
    return this.#keys.hasPassphrase(room) || this.#fromFile(room) !== null;
  }

  #fromFile(room: string): string | null {
    if (this.#file === null || this.#forgotten.has(nameKey(room))) return null;
    return this.#file.passphraseFor(room);
  }

  /** Takes the key file's passphrase for `room` on its first use. */
  async #load(room: string): Promise<void> {
    if (this.#keys.hasPassphrase(room)) return;
    const passphrase = this.#fromFile(room);
    if (passphrase !== null) await this.#keys.setPassphrase(room, passphrase);
  }

  /**
   * Sets or changes the passphrase of `room` (one key derivation, unless it
   * is the one already held). Throws a TypeError for an empty passphrase.
   */
  async set(room: string, passphrase: string): Promise<"set" | "changed" | "unchanged"> {
    await this.#load(room);
    const had = this.has(room);
    this.#forgotten.delete(nameKey(room));
    const before = this.#keys.derivations;
    await this.#keys.setPassphrase(room, passphrase);
    if (!had) return "set";
    return this.#keys.derivations === before ? "unchanged" : "changed";
  }

  /** The most UTF-8 bytes a line typed into `room` may have: less when it is sealed. */
  limitOf(room: string): number {
    return this.has(room) ? MAX_PLAIN_BYTES : MAX_MSG_BYTES;
  }

  /** Forgets the passphrase of `room` (also the key file's); false when there was none. */
  forget(room: string): boolean {
    const had = this.#keys.hasPassphrase(room) || this.#fromFile(room) !== null;
    this.#keys.forget(room);
    this.#forgotten.add(nameKey(room));
    return had;
  }

  /** The text to send for `text` typed into `room` by `sender`: sealed when the room has a passphrase. */
  async outgoing(room: string, sender: string, text: string): Promise<Outgoing> {
    await this.#load(room);
    if (!this.has(room)) {
      if (isSealed(text)) {
        return {
          ok: false,
          message: "message not sent: it has the form of a sealed message (dcN:…) and would be shown as one; " +
            "change it, e.g. add a space",
        };
      }
      return { ok: true, text, sealed: false };
    }
    const bytes = utf8Length(text);
    if (bytes > MAX_PLAIN_BYTES) {
      return {
        ok: false,
        message: `message not sent: it is ${bytes} bytes; a sealed message holds at most ${MAX_PLAIN_BYTES} bytes ` +
          `(UTF-8), and ${room} has a passphrase`,
      };
    }
    try {
      return { ok: true, text: this.#keys.seal(room, sender, text), sealed: true };
    } catch (e) {
      return { ok: false, message: `message not sent: ${(e as Error).message}` };
    }
  }

  /** How to show `entry`, received in `room`; `tty` picks the hint of a placeholder. */
  async view(room: string, entry: PollEntry, o: { tty: boolean }): Promise<MessageView> {
    await this.#load(room);
    const keyed = this.has(room);
    const opened = await this.#keys.open(room, entry.userName, entry.msg);
    if (opened.kind === "plain") return { kind: "plain", text: opened.text, marked: keyed || LOOKS_LIKE_A_MARK.test(opened.text) };
    if (opened.kind === "sealed") return { kind: "sealed", text: opened.text };
    return { kind: opened.kind, text: placeholder(opened, room, o.tty) };
  }
}

/**
 * The placeholder shown instead of a sealed message this client cannot or
 * must not show. Pure.
 *
 * @example
 * ```ts
 * placeholder({ kind: "locked", reason: "no-key" }, "lobby", true);
 * // "[sealed message: no passphrase for this room; /key lobby]"
 * ```
 */
export function placeholder(o: Exclude<Opened, { kind: "plain" | "sealed" }>, room: string, tty: boolean): string {
  if (o.kind === "tampered") {
    return o.reason === "auth"
      ? "[tampered sealed message: it failed its check (altered, or moved from another room or sender); not shown]"
      : "[tampered sealed message: malformed; not shown]";
  }
  switch (o.reason) {
    case "no-key":
      return `[sealed message: no passphrase for this room; ${tty ? `/key ${room}` : "give one with --key-file"}]`;
    case "wrong-key":
      return `[sealed message: wrong passphrase (sealed with a different one)${tty ? `; /key ${room} to change yours` : ""}]`;
    case "unsupported-version":
      return "[sealed message of a newer format; this client cannot open it]";
  }
}

/**
 * WHOWAS's memory (docs/IRC.md "WHOWAS"): who recently used a nick on one
 * IRC listener — its user name, real name and when it left — newest first,
 * bounded in nicks and in entries per nick. DistChat keeps no record of
 * past sessions, so this is the listener's own: a nick that left from
 * another server, or from a terminal or web client, is not in it.
 *
 * @example
 * ```ts
 * const h = new WhowasHistory();
 * h.add({ nick: "bob", user: "bob", realname: "Bob", server: "a.distchat", at: now });
 * h.find("BOB", 0); // [{ nick: "bob", … }]
 * ```
 */
import { nameKey } from "./names.ts";

/** One past use of a nick. */
export type WhowasEntry = { nick: string; user: string; realname: string; server: string; at: number };

/** Nicks remembered (the oldest is forgotten first). */
export const WHOWAS_NICKS = 2000;
/** Entries kept per nick. */
export const WHOWAS_PER_NICK = 8;

/** A bounded history of nicks that left, by nick key. */
export class WhowasHistory {
  #byNick = new Map<string, WhowasEntry[]>();
  readonly #nicks: number;
  readonly #perNick: number;

  constructor(nicks = WHOWAS_NICKS, perNick = WHOWAS_PER_NICK) {
    this.#nicks = nicks;
    this.#perNick = perNick;
  }

  /** Remembers that `e.nick` left at `e.at`. */
  add(e: WhowasEntry): void {
    const key = nameKey(e.nick);
    const list = this.#byNick.get(key) ?? [];
    this.#byNick.delete(key); // re-inserted: most recently used last
    this.#byNick.set(key, [e, ...list].slice(0, this.#perNick));
    if (this.#byNick.size > this.#nicks) this.#byNick.delete(this.#byNick.keys().next().value as string);
  }

  /** The entries of `nick`, newest first; at most `count` when it is positive (else all). */
  find(nick: string, count: number): WhowasEntry[] {
    const list = this.#byNick.get(nameKey(nick)) ?? [];
    return count > 0 ? list.slice(0, count) : list;
  }

  /** Nicks remembered. */
  get size(): number {
    return this.#byNick.size;
  }
}

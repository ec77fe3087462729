/**
 * A QUIT is told once per connection, though it comes as a quit notice in
 * every channel the quitter shared with it (docs/PROTOCOL.md "logout": a
 * logout with a reason leaves each room with a `quit` notice, all made at
 * the same time). Pure: a short memory of the quits told, per connection.
 *
 * @example
 * const state = {};
 * firstQuit(state, "bob", 1000); // true: tell QUIT
 * firstQuit(state, "Bob", 1000); // false: the same quit, from another channel
 */
import { nameKey } from "./names.ts";

/** How many quits a connection remembers (the latest). */
const REMEMBERED = 64;

const told = new WeakMap<object, string[]>();

/** True when the quit of `user` made at `at` (ms) was not yet told to the connection whose state is `conn`; remembers it. */
export function firstQuit(conn: object, user: string, at: number): boolean {
  const key = `${nameKey(user)} ${at}`;
  const seen = told.get(conn) ?? [];
  if (seen.includes(key)) return false;
  seen.push(key);
  if (seen.length > REMEMBERED) seen.shift();
  told.set(conn, seen);
  return true;
}

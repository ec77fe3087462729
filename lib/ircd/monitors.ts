/**
 * The nicks an IRC listener's connections MONITOR (docs/IRC.md "Monitor"),
 * watched for all of them at once: one entry per nick however many
 * connections monitor it, with whether it was online when last looked at
 * (and as which name). `check` looks a bounded number of nicks up again
 * (round robin) and tells each connection that monitors a nick whose state
 * changed. Whether a nick is online is asked of the server (`online`: a live
 * session of that name anywhere in the cluster); the listener checks the
 * names each commit logged in or out here at once (`checkNames`), and
 * every tick a bounded number in turn (`check`: what other servers did,
 * sessions that expired). No sockets or clock.
 *
 * @example
 * ```ts
 * const m = new MonitorWatch<string>({ online: (k) => live.get(k) ?? null, tell: (w, key, held) => told.push([w, key, held]) });
 * m.set("conn1", ["bob"]);   // bob offline now
 * live.set("bob", "Bob");
 * m.check(100);              // told: ["conn1", "bob", "Bob"]
 * ```
 */

/** What a MonitorWatch needs: how to ask whether a nick is online, and how to tell a watcher. */
export type MonitorWatchOptions<W> = {
  /** The name of the live session holding the nick of key `key` (anywhere in the cluster), or null. */
  online(key: string): string | null;
  /** Tells watcher `w` that nick `key` is now online as `held`, or offline (`held` null; `was`: its name before). */
  tell(w: W, key: string, held: string | null, was: string): void;
};

type Entry<W> = { held: string | null; watchers: Set<W> };

/** Every nick monitored by a listener's connections, and what each was last seen as (see the file comment). */
export class MonitorWatch<W> {
  #o: MonitorWatchOptions<W>;
  #nicks = new Map<string, Entry<W>>();
  #of = new Map<W, Set<string>>();
  #turn: Iterator<string> | null = null;

  constructor(o: MonitorWatchOptions<W>) {
    this.#o = o;
  }

  /** Nicks watched. */
  get size(): number {
    return this.#nicks.size;
  }

  /** Watcher `w` now monitors exactly the nicks of `keys` (name keys); a new nick's state is looked up now. */
  set(w: W, keys: Iterable<string>): void {
    const want = new Set(keys), had = this.#of.get(w) ?? new Set<string>();
    for (const k of had) if (!want.has(k)) this.#leave(w, k);
    for (const k of want) {
      let e = this.#nicks.get(k);
      if (e === undefined) this.#nicks.set(k, e = { held: this.#o.online(k), watchers: new Set() });
      else if (!e.watchers.has(w)) this.#look(k, e); // `w` learns the state now: the others first hear of a change
      e.watchers.add(w);
    }
    if (want.size === 0) this.#of.delete(w);
    else this.#of.set(w, want);
  }

  /** Watcher `w` is gone. */
  drop(w: W): void {
    this.set(w, []);
  }

  /** Looks up to `most` nicks up again, in turn, and tells their watchers what changed (a change of case is no change). */
  check(most: number): void {
    for (let n = Math.min(most, this.#nicks.size); n > 0; n--) {
      const key = this.#next();
      if (key === null) return;
      this.#look(key, this.#nicks.get(key)!);
    }
  }

  /** Looks the nicks of `keys` up again, those watched, and tells their watchers what changed (a commit logged them in or out). */
  checkNames(keys: Iterable<string>): void {
    for (const k of keys) {
      const e = this.#nicks.get(k);
      if (e !== undefined) this.#look(k, e);
    }
  }

  /** Looks nick `key` up again and tells its watchers when it came online or went offline. */
  #look(key: string, e: Entry<W>): void {
    const held = this.#o.online(key), was = e.held ?? key;
    const changed = (held === null) !== (e.held === null);
    e.held = held;
    if (changed) for (const w of [...e.watchers]) this.#o.tell(w, key, held, was);
  }

  #next(): string | null {
    let r = this.#turn?.next();
    if (r === undefined || r.done) {
      this.#turn = this.#nicks.keys();
      r = this.#turn.next();
    }
    return r.done ? null : r.value;
  }

  #leave(w: W, key: string): void {
    const e = this.#nicks.get(key);
    if (e === undefined) return;
    e.watchers.delete(w);
    if (e.watchers.size === 0) this.#nicks.delete(key);
  }
}

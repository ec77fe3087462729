/**
 * Two-disk acks (docs/ARCHITECTURE.md "Acks"): the `ok` of an add is held
 * until the message it names is on the disks of two servers — its origin
 * and its confirmer, the server the origin named in the op — and that
 * confirmer has not refused it. Until then the server does not answer; the
 * client keeps retransmitting the same tag and, hearing nothing, fails over
 * to the next server, where the same rule answers with the same message.
 *
 * A copy C (op `o.n`, confirmer `f`) may be acked here when, after a commit:
 * - `f` is this server (this commit holds C and it was not refused), or
 * - `f` told us (`got`, sent after its commits) a durable vector covering
 *   `o.n`, and we have delivered `f`'s own ops up to that vector — so any
 *   hide op `f` made for C when it stored it is applied here, and C would
 *   no longer be the visible copy. A copy without a confirmer (a one-server
 *   cluster, `--one-disk-acks`) is acked at once.
 * The reply always names the copy visible here at that moment.
 *
 * @example
 * ```ts
 * const gate = new AckGate({ self: "a", store, commit, clock });
 * gate.hold(key, session, tag, (text) => send(text));   // from the client port
 * gate.noteGot("b", vector);                              // from the peer port
 * ```
 */
import { replyText } from "../wire/codec.ts";
import type { Vector } from "../wire/vector.ts";
import { get } from "../wire/vector.ts";
import { serverOf } from "../store/incarnation.ts";
import type { StoredAdd } from "../store/messages.ts";
import type { Clock } from "./clock.ts";
import type { GroupCommit } from "./commit.ts";

/** What the gate reads of the store. */
export interface GateStore {
  vector(): Vector;
  messages: { byTag(session: string, tag: string): StoredAdd | null };
  rooms: { name(groupName: string): string | null };
}

export type AckGateOptions = {
  /** This server's id (not its incarnation). */
  self: string;
  store: GateStore;
  commit: GroupCommit;
  clock: Clock;
  /** How long a held ack waits before it is dropped unanswered, ms. Default 10 s. */
  holdMs?: number;
  /** Most acks held at once; the oldest is dropped past it. Default 50,000. */
  maxHeld?: number;
  /** True for the ids of servers.txt (default: any). A copy naming a confirmer no longer listed is acked on its origin's disk. */
  isServer?: (id: string) => boolean;
};

type Held = {
  session: string;
  tag: string;
  /** The copy last seen visible. */
  copy: StoredAdd;
  release: (text: string) => void;
  until: number;
};

export class AckGate {
  #o: AckGateOptions;
  #got = new Map<string, Vector>();
  #held = new Map<string, Held>();

  constructor(o: AckGateOptions) {
    this.#o = o;
    o.commit.subscribe(() => this.#recheck());
  }

  /** True while the ack of the request with this retransmission key is held. */
  holds(key: string): boolean {
    return this.#held.has(key);
  }

  /** Acks waiting for a second disk. */
  get size(): number {
    return this.#held.size;
  }

  /**
   * Holds the ack of add (session, tag) under its retransmission `key`
   * until its copy may be acked (checked after the next commit);
   * `release` gets the reply text. A retransmission of a held add only
   * replaces `release` (the newest address answers).
   */
  hold(key: string, session: string, tag: string, release: (text: string) => void): void {
    const copy = this.#o.store.messages.byTag(session, tag);
    if (copy === null) return;
    const held = this.#held.get(key);
    if (held) {
      held.release = release;
      return;
    }
    const max = this.#o.maxHeld ?? 50_000;
    if (this.#held.size >= max) {
      const oldest = this.#held.keys().next().value as string;
      this.#held.delete(oldest);
    }
    this.#held.set(key, { session, tag, copy, release, until: this.#o.clock.now() + (this.#o.holdMs ?? 10_000) });
  }

  /** Server `from` has `vector` on disk. Checked after a commit, so no copy is acked from uncommitted rows. */
  noteGot(from: string, vector: Vector): void {
    this.#got.set(from, vector);
    if (this.#held.size > 0) this.#o.commit.afterNextCommit(() => this.#recheck());
  }

  /** True when `copy` may be acked here now (see the module comment). */
  confirmed(copy: StoredAdd): boolean {
    const conf = copy.conf;
    if (conf === "" || conf === this.#o.self || this.#o.isServer?.(conf) === false) return true;
    const got = this.#got.get(conf);
    if (!got || get(got, copy.origin) < copy.seq) return false;
    const mine = this.#o.store.vector();
    for (const [origin, n] of got) if (serverOf(origin) === conf && get(mine, origin) < n) return false;
    return true;
  }

  #recheck(): void {
    if (this.#held.size === 0) return;
    const now = this.#o.clock.now();
    const { store } = this.#o;
    for (const [key, h] of this.#held) {
      if (!this.confirmed(h.copy)) {
        if (now > h.until) {
          this.#held.delete(key);
            }
        continue;
      }
      // The confirmer's word is in: read which copy is visible now (a hide op may have changed it).
      const copy = store.messages.byTag(h.session, h.tag);
      if (copy === null) continue;
      if (copy.origin !== h.copy.origin || copy.seq !== h.copy.seq) {
        h.copy = copy;
        if (!this.confirmed(copy)) continue;
      }
      this.#held.delete(key);
      const groupName = store.rooms.name(copy.rkey) ?? copy.rkey;
      h.release(replyText({
        verb: "ok",
        tag: h.tag,
        kind: "add",
        msg: copy.msg,
        groupName,
        msgId: { origin: copy.origin, n: copy.seq },
      }));
    }
  }
}

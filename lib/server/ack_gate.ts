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
 *   no longer be the visible copy, or
 * - `f` is down — nothing heard from it for `confirmerDownMs` (1.5 s; new adds
 *   name another confirmer after 750 ms) — and the copy is on a second disk
 *   all the same: this server's, when it is not the origin, or that of a
 *   live peer other than the origin whose `got` covers it. Without this a
 *   copy stored in the moment its confirmer died would wait for that server
 *   to come back, and its client with it (docs/ARCHITECTURE.md "Acks").
 * A copy without a confirmer (a one-server cluster, `--one-disk-acks`) is
 * acked at once.
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
import { serverOf } from "../rules/incarnation.ts";
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
  /** A confirmer silent this long is down: another server's disk may stand in for its. Default 1500 ms. */
  confirmerDownMs?: number;
  /** When a peer was last heard at all (any authenticated datagram); default: its last `got`. */
  heardAt?: (peer: string) => number | undefined;
};

type Held = {
  session: string;
  tag: string;
  /** The copy last seen visible. */
  copy: StoredAdd;
  release: (text: string) => void;
  until: number;
  /** How the reply names the room (a direct conversation: "@" + the other user); absent: the room's display name. */
  groupName?: string;
};

export class AckGate {
  #o: AckGateOptions;
  #got = new Map<string, Vector>();
  /** When each peer's last `got` came (this server's clock). */
  #gotAt = new Map<string, number>();
  #held = new Map<string, Held>();
  #started: number;

  constructor(o: AckGateOptions) {
    this.#o = o;
    this.#started = o.clock.now();
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
  hold(key: string, session: string, tag: string, release: (text: string) => void, groupName?: string): void {
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
    this.#held.set(key, { session, tag, copy, release, until: this.#o.clock.now() + (this.#o.holdMs ?? 10_000), ...(groupName ? { groupName } : {}) });
  }

  /** Server `from` has `vector` on disk. Checked after a commit, so no copy is acked from uncommitted rows. */
  noteGot(from: string, vector: Vector): void {
    this.#got.set(from, vector);
    this.#gotAt.set(from, this.#o.clock.now());
    if (this.#held.size > 0) this.#o.commit.afterNextCommit(() => this.#recheck());
  }

  /** True when `copy` may be acked here now (see the module comment). */
  confirmed(copy: StoredAdd): boolean {
    const conf = copy.conf;
    if (conf === "" || conf === this.#o.self || this.#o.isServer?.(conf) === false) return true;
    const got = this.#got.get(conf);
    if (!got || get(got, copy.origin) < copy.seq) return this.#standIn(copy);
    const mine = this.#o.store.vector();
    for (const [origin, n] of got) if (serverOf(origin) === conf && get(mine, origin) < n) return this.#standIn(copy);
    return true;
  }

  /** The copy's confirmer is down and a second disk, not the origin's, holds the copy. */
  #standIn(copy: StoredAdd): boolean {
    const now = this.#o.clock.now();
    const downMs = this.#o.confirmerDownMs ?? 1500;
    const heard = Math.max(this.#o.heardAt?.(copy.conf) ?? -Infinity, this.#gotAt.get(copy.conf) ?? -Infinity, this.#started);
    if (now - heard < downMs) return false;
    const origin = serverOf(copy.origin);
    if (origin !== this.#o.self) return true; // this server's disk (the gate checks after a commit) and the origin's
    for (const [peer, v] of this.#got) {
      if (peer === copy.conf || peer === origin) continue;
      if (now - (this.#gotAt.get(peer) ?? -Infinity) < downMs && get(v, copy.origin) >= copy.seq) return true;
    }
    return false;
  }

  #recheck(): void {
    if (this.#held.size === 0) return;
    const now = this.#o.clock.now();
    const { store } = this.#o;
    for (const [key, h] of this.#held) {
      if (!this.confirmed(h.copy)) {
        if (now > h.until) this.#held.delete(key);
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
      const groupName = h.groupName ?? store.rooms.name(copy.rkey) ?? copy.rkey;
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

/**
 * lib/acks/confirm.ts `HeldAcks.due` visits only what the index
 * (lib/acks/held_index.ts) says a pass may release; this checks it answers
 * exactly what the rule read as a scan of every held ack answers (the
 * reference below, built on the same rule's `confirmed`), under seeded
 * random holds, `got`s, silences (confirmers going down), hide ops that
 * change the visible copy, expiry and the maxHeld bound.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { type Copy, type Held, HeldAcks } from "../lib/acks/confirm.ts";
import { CopyIndex } from "../lib/acks/held_index.ts";
import { PeerLiveness } from "../lib/acks/liveness.ts";
import type { Vector } from "../lib/wire/vector.ts";
import { mulberry32, type Prng } from "../testing/prng.ts";

const SELF = "a";
const ORIGINS = ["a~1", "a~2", "b~1", "c~1"];
const CONFS = ["", "a", "b", "c", "d", "gone"];
const PEERS = ["b", "c", "d"];
const HOLD_MS = 4_000;
const MAX_HELD = 24;
const isServer = (id: string) => id !== "gone";

/** The rule read as a scan of every held ack, oldest first (what `due` did before the index). */
class ScanAcks {
  held = new Map<string, Held<Copy, string>>();
  #rule: HeldAcks<Copy, string>;
  constructor(liveness: PeerLiveness) {
    this.#rule = new HeldAcks({ self: SELF, isServer, liveness, started: 0 });
  }
  hold(key: string, h: Held<Copy, string>): void {
    if (this.held.has(key)) return;
    if (this.held.size >= MAX_HELD) this.held.delete(this.held.keys().next().value as string);
    this.held.set(key, h);
  }
  due(now: number, mine: Vector, visible: (s: string, t: string) => Copy | null): Held<Copy, string>[] {
    const out: Held<Copy, string>[] = [];
    for (const [key, h] of this.held) {
      if (!this.#rule.confirmed(h.copy, mine, now)) continue;
      const copy = visible(h.session, h.tag);
      if (copy === null) continue;
      if (copy.origin !== h.copy.origin || copy.seq !== h.copy.seq) {
        h.copy = copy;
        if (!this.#rule.confirmed(copy, mine, now)) continue;
      }
      this.held.delete(key);
      out.push(h);
    }
    for (const [key, h] of this.held) if (now > h.until) this.held.delete(key);
    return out;
  }
}

const pick = <X>(prng: Prng, xs: readonly X[]): X => xs[Math.floor(prng() * xs.length)];
/** A copy of a random op; its confirmer is the op's (one per origin and seq, as in the store). */
function randomCopy(prng: Prng): Copy {
  const o = Math.floor(prng() * ORIGINS.length), seq = 1 + Math.floor(prng() * 40);
  return { origin: ORIGINS[o], seq, conf: CONFS[(o * 7 + seq * 3) % CONFS.length] };
}
const randomVector = (prng: Prng): Vector => new Map(ORIGINS.filter(() => prng() < 0.7).map((o) => [o, Math.floor(prng() * 45)]));
const keysOf = (hs: Held<Copy, string>[]) => hs.map((h) => h.data).sort();

/** One seeded run of `steps` random events, both tables fed the same; their answers compared at every pass. */
function run(seed: number, steps: number): number {
  const prng = mulberry32(seed);
  const liveness = new PeerLiveness();
  const indexed = new HeldAcks<Copy, string>({ self: SELF, isServer, liveness, started: 0, maxHeld: MAX_HELD });
  const scan = new ScanAcks(liveness);
  const visibleNow = new Map<string, Copy | null>();
  const visible = (s: string, t: string) => visibleNow.get(`${s} ${t}`) ?? null;
  let now = 0, mine: Vector = new Map(), released = 0;
  for (let step = 0; step < steps; step++) {
    const r = prng();
    if (r < 0.35) {
      const key = `k${Math.floor(prng() * 60)}`;
      const copy = randomCopy(prng);
      visibleNow.set(`s ${key}`, copy);
      const held = (): Held<Copy, string> => ({ session: "s", tag: key, copy: { ...copy }, until: now + HOLD_MS, data: key });
      indexed.hold(key, held());
      scan.hold(key, held());
    } else if (r < 0.5) {
      liveness.got(pick(prng, PEERS), randomVector(prng), now, now);
    } else if (r < 0.55) {
      liveness.heard(pick(prng, PEERS), now);
    } else if (r < 0.65) {
      now += Math.floor(prng() * 900);
    } else if (r < 0.72) {
      const key = `s k${Math.floor(prng() * 60)}`;
      if (visibleNow.has(key)) visibleNow.set(key, prng() < 0.2 ? null : randomCopy(prng));
    } else if (r < 0.8) {
      mine = randomVector(prng);
    } else {
      const a = indexed.due(now, mine, visible), b = scan.due(now, mine, visible);
      assert.equal(keysOf(a), keysOf(b), `seed ${seed} step ${step}: released`);
      for (const h of a) assert.equal(h.copy, b.find((x) => x.data === h.data)!.copy, `seed ${seed}: copy of ${h.data}`);
      assert.is(indexed.size, scan.held.size, `seed ${seed} step ${step}: held`);
      for (const [key, h] of scan.held) assert.equal(indexed.get(key)?.copy, h.copy, `seed ${seed}: ${key} held`);
      released += a.length;
    }
  }
  return released;
}

test("due answers what a scan of every held ack answers (400 seeded runs)", () => {
  let released = 0;
  for (let seed = 1; seed <= 400; seed++) released += run(seed, 300);
  assert.ok(released > 1000, `the runs released acks (${released})`);
});

test("the index keeps each group in seq order and finds what it holds", () => {
  const index = new CopyIndex<{ copy: Copy; n: number }>();
  const hs = [5, 3, 9, 3, 1, 7].map((seq, n) => ({ copy: { origin: "a~1", seq, conf: "b" }, n }));
  for (const h of hs) index.add(h);
  const seqs = () => [...(index.groups().get("b")?.get("a~1") ?? [])].map((h) => h.copy.seq);
  assert.equal(seqs(), [1, 3, 3, 5, 7, 9]);
  assert.ok(index.remove(hs[3]));
  assert.not.ok(index.remove(hs[3]), "removed once");
  assert.not.ok(index.remove({ copy: { origin: "a~1", seq: 5, conf: "b" }, n: 99 }), "not one it holds");
  index.removeAll([hs[4], hs[0]]);
  assert.equal(seqs(), [3, 7, 9]);
  assert.is(index.size, 3);
  index.removeAll([hs[1], hs[5], hs[2]]);
  assert.is(index.groups().size, 0, "empty groups are dropped");
});

test.run();

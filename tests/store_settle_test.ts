/**
 * Settling name claims from what is remembered (lib/store/name_claims.ts:
 * the holder a name's chain ended with, while no earlier claim changes)
 * must end exactly the sessions that reading every claim of the name ends.
 * Random histories of three origins — logins of two names, logouts,
 * activity, views merged now and then, so keys arrive out of order too —
 * go to a store that remembers and to one that reads every claim; after
 * each op both must agree on every session.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import type { Op } from "../lib/wire/messages.ts";
import { mulberry32, pick as pickWith } from "../testing/prng.ts";
import { Store } from "../lib/store/store.ts";
import { isLive } from "../lib/rules/conflict.ts";
import { advance, get, type Vector } from "../lib/wire/vector.ts";
import { removeTempDirs, tempDir } from "../testing/harness.ts";

const T0 = 1_700_000_000_000;
const ORIGINS = ["a", "b", "c"];
const NAMES = ["ann", "bob"];
const SEEDS = 120;
const OPS = 160;

/** One seeded history, applied op by op to both stores; returns the first disagreement, or null. */
function run(seed: number): string | null {
  const random = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => pickWith(random, xs);
  const dir = tempDir("distchat-settle-");
  const remembering = Store.open(join(dir, "r.sqlite"), "z", { sync: "normal" });
  const reading = Store.open(join(dir, "s.sqlite"), "z", { sync: "normal", rememberSettlements: false });
  const views = new Map<string, Vector>(ORIGINS.map((o) => [o, new Map()]));
  const mine = new Map<string, string[]>(ORIGINS.map((o) => [o, []]));
  const sessions: string[] = [];
  let clock = T0;
  try {
    for (let i = 0; i < OPS; i++) {
      clock += Math.floor(random() * 40_000);
      const origin = pick(ORIGINS);
      const view = views.get(origin)!;
      const r = random();
      if (r < 0.15) {
        // This origin learns what another has seen: later ops depend on those.
        const merged = new Map(view);
        for (const [o, n] of views.get(pick(ORIGINS))!) if (get(merged, o) < n) merged.set(o, n);
        views.set(origin, merged);
        continue;
      }
      let step: { kind: "login"; session: string; userName: string; ttl: number } | { kind: "logout" | "touch"; session: string } | null = null;
      if (r < 0.55 || mine.get(origin)!.length === 0) {
        const session = `${seed}-${i}`.padStart(64, "0");
        mine.get(origin)!.push(session);
        sessions.push(session);
        step = { kind: "login", session, userName: pick(NAMES), ttl: 60 };
      } else if (r < 0.75) step = { kind: "logout", session: pick(mine.get(origin)!) };
      else if (r < 0.9) step = { kind: "touch", session: pick(mine.get(origin)!) };
      if (step !== null) {
        const seq = get(view, origin) + 1;
        const deps = new Map(view);
        deps.delete(origin);
        const op = { ...step, origin, seq, deps, at: clock } as Op;
        views.set(origin, advance(view, origin, seq));
        for (const s of [remembering, reading]) {
          s.begin();
          s.applyRemote(op);
          s.commit();
        }
      } else {
        // Activity seen here, between ops (a request on this server).
        const id = pick(sessions);
        for (const s of [remembering, reading]) {
          const rec = s.session(id);
          if (!rec || rec.ended) continue;
          s.begin();
          s.refresh(rec, clock);
          s.commit();
        }
      }
      for (const id of sessions) {
        const x = remembering.session(id), y = reading.session(id);
        if (x?.ended !== y?.ended || (x && y && isLive(x, clock) !== isLive(y, clock))) {
          return `seed ${seed}, op ${i}: session ${id.replace(/^0+/, "")} ended ${x?.ended} / ${y?.ended}`;
        }
      }
    }
    return null;
  } finally {
    remembering.close();
    reading.close();
  }
}

test(`remembered settlements end the same sessions as reading every claim (${SEEDS} seeds)`, () => {
  try {
    const failed: string[] = [];
    for (let seed = 1; seed <= SEEDS; seed++) {
      const f = run(seed);
      if (f) failed.push(f);
    }
    assert.equal(failed, []);
  } finally {
    removeTempDirs();
  }
});

test.run();

/**
 * Typing and away (lib/rules/presence.ts): states last their time unless
 * said again, idle and back clear them, an away user who types stays away,
 * and a full board drops new states rather than old ones.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { PRESENCE_TTL_MS, PresenceBoard } from "../lib/rules/presence.ts";

test("typing lasts 6 s unless said again; idle clears it", () => {
  const b = new PresenceBoard();
  b.set(["lobby"], "Bob", "typing", 0);
  b.set(["lobby"], "carl", "typing", 0);
  assert.equal(b.list("lobby", 1000), [{ userName: "Bob", state: "typing" }, { userName: "carl", state: "typing" }]);
  b.set(["lobby"], "bob", "idle", 2000); // names compare case-folded
  assert.equal(b.list("lobby", 2000), [{ userName: "carl", state: "typing" }]);
  assert.equal(b.list("lobby", PRESENCE_TTL_MS.typing), [], "carl's state ran out");
  assert.is(b.size, 0);
});

test("away is said in every room given and lasts until back; typing does not hide it", () => {
  const b = new PresenceBoard();
  b.set(["lobby", "dev"], "bob", "away", 0);
  b.set(["dev"], "bob", "typing", 10);
  assert.equal(b.list("dev", 20), [{ userName: "bob", state: "away" }]);
  assert.equal(b.list("lobby", 60_000), [{ userName: "bob", state: "away" }]);
  b.set(["lobby", "dev"], "bob", "back", 60_001);
  assert.equal(b.list("lobby", 60_002), []);
  assert.equal(b.list("dev", 60_002), []);
});

test("a peer's state keeps the time it had left, never more than its own", () => {
  const b = new PresenceBoard();
  b.set(["lobby"], "bob", "typing", 0, 1000);
  assert.equal(b.list("lobby", 999).length, 1);
  assert.equal(b.list("lobby", 1000).length, 0);
  b.set(["lobby"], "bob", "typing", 0, 10 ** 9);
  assert.equal(b.list("lobby", PRESENCE_TTL_MS.typing).length, 0);
});

test("a full board drops new states (and makes room once old ones ran out)", () => {
  const b = new PresenceBoard(3);
  for (const u of ["a", "b", "c"]) assert.ok(b.set(["lobby"], u, "typing", 0));
  assert.not.ok(b.set(["lobby"], "d", "typing", 1));
  assert.ok(b.set(["lobby"], "a", "typing", 1), "renewing a state held is not a new one");
  assert.ok(b.set(["lobby"], "d", "typing", PRESENCE_TTL_MS.typing));
  assert.is(b.size, 2);
});

test.run();

/**
 * lib/server/reply_cache.ts against a reference model (a Map evicting its
 * first-stored entries past either bound), over random keys, re-stored keys
 * and sizes; and its key order stays bounded when the same keys are stored
 * again and again.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ReplyCache } from "../lib/server/reply_cache.ts";
import { mulberry32 } from "../testing/prng.ts";

test("evicts exactly what a first-stored-first-out model evicts, by entries and by bytes", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const random = mulberry32(seed);
    const cache = new ReplyCache(50, 2000);
    const model = new Map<string, string>();
    let bytes = 0;
    for (let i = 0; i < 5000; i++) {
      const key = `k${Math.floor(random() * 120)}`;
      const text = "x".repeat(Math.floor(random() * 80));
      cache.set(key, { text, error: null });
      if (model.has(key)) (bytes -= model.get(key)!.length, model.delete(key));
      model.set(key, text);
      bytes += text.length;
      while (model.size > 50 || bytes > 2000) {
        const [k, v] = model.entries().next().value as [string, string];
        model.delete(k);
        bytes -= v.length;
      }
      assert.is(cache.size, model.size, `seed ${seed}, set ${i}`);
    }
    for (const [k, v] of model) assert.is(cache.get(k)?.text, v);
  }
});

test("storing the same keys again and again keeps memory bounded (the order is compacted)", () => {
  const cache = new ReplyCache(8192);
  for (let i = 0; i < 200_000; i++) cache.set(`k${i % 100}`, { text: "a", error: null });
  assert.is(cache.size, 100);
  assert.ok(cache.orderLength <= 2 * 100 + 1025, `order holds ${cache.orderLength} keys`);
});

test.run();

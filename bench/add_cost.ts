/**
 * What one add costs the server in-process, without sockets (not a test):
 * a store (--sync normal, so no disk waits), one session in one room, N add
 * datagrams decoded and handled 128 per transaction, as the group commit
 * does. Prints µs per add: decode (grammar + checks), handle (lib/chat.ts
 * and the store), commit.
 *
 *   node bench/add_cost.ts [N] [--json]        deno run -A bench/add_cost.ts [N] [--json]
 */
import process from "node:process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { Chat } from "../lib/chat.ts";
import { decodeRequest, encodeText } from "../lib/codec.ts";
import { Store } from "../lib/store.ts";
const dir = mkdtempSync(join(os.tmpdir(), "distchat-add-cost-"));
const store = Store.open(join(dir, "a.sqlite"), "a", { sync: "normal" });
const chat = new Chat({ store, replyKey: new Uint8Array(32) });
const from = { host: "127.0.0.1", port: 1 };
const now = Date.now();
const dec = (s: string) => {
  const d = decodeRequest(encodeText(s));
  if (!d.ok) throw new Error(d.error.message);
  return d.value;
};
store.begin();
const out = chat.handle(dec("login\n1\nalice\n"), from, now) as {
  text: string;
};
const token = out.text.split("\n")[4];
chat.handle(dec(`open\n2\n${token}\nroom1\n`), from, now);
store.commit();
const N = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 100000);
const json = process.argv.includes("--json");
const dgs = Array.from(
  { length: N },
  (_, i) =>
    encodeText(
      `add\nt${i}\n${token}\nmessage number ${i} of the micro benchmark\nroom1\n`,
    ),
);
const phase = { decode: 0, handle: 0, commit: 0 };
const t0 = performance.now();
for (let i = 0; i < N; i++) {
  if (i % 128 === 0) store.begin();
  const a = performance.now();
  const r = decodeRequest(dgs[i]);
  const b = performance.now();
  if (!r.ok) throw new Error("bad");
  chat.handle(r.value, from, now + i);
  const c = performance.now();
  phase.decode += b - a;
  phase.handle += c - b;
  if (i % 128 === 127) {
    const d = performance.now();
    store.commit();
    phase.commit += performance.now() - d;
  }
}
store.commit();
const el = performance.now() - t0;
const us = (x: number) => Math.round((x / N) * 100_000) / 100;
const figures = { adds: N, total: us(el), decode: us(phase.decode), handle: us(phase.handle), commit: us(phase.commit) };
if (json) console.log(JSON.stringify(figures));
else {
  console.log(
    `${N} adds: ${figures.total} µs each; decode ${figures.decode}, handle ${figures.handle}, commit ${figures.commit}`,
  );
}
store.close();
rmSync(dir, { recursive: true, force: true });

/**
 * A repro, not a test (it fails while the gap stands): an add acked on a
 * stand-in disk (docs/ARCHITECTURE.md "A confirmer that dies") whose id no
 * server lists in the end — the chaos run's "acked id listed by no server"
 * (/tmp/i27e/chaos_main.txt, an id of a fresh incarnation) by its
 * mechanism, on an in-memory network (testing/memory_cluster.ts). Four
 * servers: c is down (restarting), d is killed; b's copy of the add names d;
 * the client, hearing nothing from b, resends to c, back but not caught up,
 * which makes its own copy naming d as well; b's stand-in ack reaches the
 * client after that (it takes any reply with its tag). When d is back, every
 * server lists c's copy. Prints the acks and the listings; exits 1 when an
 * acked id is listed nowhere.
 *
 *   node testing/standin_overturned.ts
 */
import process from "node:process";
import type { Request } from "../lib/wire/messages.ts";
import { removeTempDirs } from "./harness.ts";
import { memoryCluster } from "./memory_cluster.ts";

const IDS = ["a", "b", "c", "d"];
const add = (token: string, tag: string, msg: string): Request => ({ verb: "add", tag, token, groupName: "r", msg });
const c = await memoryCluster({ ids: IDS });
try {
  const token = c.loginAndOpen("b", "bob", "r");
  c.down.add("c");
  c.run(1000); // b no longer hears c
  c.down.add("d"); // killed; b heard it a moment ago, so b's copy names d
  c.send("b", add(token, "t1", "hello"));
  c.run(1200);
  c.down.delete("c"); // back before it has caught up; the client's resend reaches it
  c.send("c", add(token, "t1", "hello"));
  c.run(4000);
  c.down.delete("d");
  c.run(5000);
  const acks = [...new Set(c.replies.filter((r) => r.tag === "t1").map((r) => (r.verb === "ok" && r.kind === "add" ? `${r.msgId.origin}.${r.msgId.n}` : r.verb)))];
  const listed = IDS.map((id) => `${id}: ${c.listing(id, "r").join(", ")}`);
  const lost = acks.filter((id) => !c.listing("a", "r").some((l) => l.startsWith(`${id} `)));
  console.log(`acks: ${acks.join(", ")}\n${listed.join("\n")}\n${lost.length ? `acked id listed nowhere: ${lost.join(", ")}` : "every acked id is listed"}`);
  process.exitCode = lost.length ? 1 : 0;
} finally {
  c.close();
  removeTempDirs();
}

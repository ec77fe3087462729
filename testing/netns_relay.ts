/**
 * A UDP socket inside a network namespace, driven over stdin/stdout by a
 * test process in another one (testing/netns.ts `nsTransport`): run as
 * `ip netns exec NS <runtime> testing/netns_relay.ts`. It binds 0.0.0.0:0,
 * prints `ready PORT`, then sends each stdin line `HOST PORT BASE64` as one
 * datagram and prints each datagram received as `HOST PORT BASE64`. It exits
 * when stdin closes.
 *
 * @example
 * ```sh
 * ip netns exec dct-1a2b-cl node testing/netns_relay.ts   # "ready 41234"
 * ```
 */
import process from "node:process";
import { Buffer } from "node:buffer";
import { bindUdp } from "../lib/net/udp_node.ts";

const t = await bindUdp({ host: "0.0.0.0", port: 0 }, (bytes, from) => {
  process.stdout.write(`${from.host} ${from.port} ${Buffer.from(bytes).toString("base64")}\n`);
});
process.stdout.write(`ready ${t.address.port}\n`);
let pending = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk: string) => {
  pending += chunk;
  let nl: number;
  while ((nl = pending.indexOf("\n")) >= 0) {
    const [host, port, b64] = pending.slice(0, nl).split(" ");
    pending = pending.slice(nl + 1);
    if (host && port && b64 !== undefined) t.send(new Uint8Array(Buffer.from(b64, "base64")), { host, port: Number(port) });
  }
});
process.stdin.on("end", () => void t.close().then(() => process.exit(0)));

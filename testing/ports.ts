/**
 * Free loopback ports for servers that tests start. Picked at random below
 * the kernel's range for port-0 binds (32768–60999 on Linux by default), so
 * that no socket bound to port 0 — a client's, a proxy's, another test
 * process's — can take one between its pick and the server's bind (a chaos
 * run once failed so: "cannot bind 127.0.0.1:54325: the port is in use").
 * `npm test` runs the Node and Deno suites side by side and gives each a
 * range of its own (DISTCHAT_TEST_PORTS, "FROM-TO"), so that neither picks
 * a port the other has picked and not yet bound.
 *
 * @example
 * ```ts
 * const port = await freePort(); // then --client-listen 127.0.0.1:<port>
 * ```
 */
import dgram from "node:dgram";
import net from "node:net";
import process from "node:process";

const LOOPBACK = "127.0.0.1";
const [PICK_FROM, PICK_TO] = range(process.env.DISTCHAT_TEST_PORTS);

/** DISTCHAT_TEST_PORTS ("FROM-TO", inclusive) or 20000-31999. */
function range(text: string | undefined): [number, number] {
  const m = /^(\d+)-(\d+)$/.exec(text ?? "");
  if (m === null) return [20_000, 32_000];
  const [from, to] = [Number(m[1]), Number(m[2]) + 1];
  if (!(from >= 1024 && to > from && to <= 65_536)) throw new RangeError(`DISTCHAT_TEST_PORTS ${text}: want FROM-TO within 1024-65535`);
  return [from, to];
}

/** A port of PICK_FROM..PICK_TO that `free` finds free now. */
async function pickPort(free: (port: number) => Promise<boolean>): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = PICK_FROM + Math.floor(Math.random() * (PICK_TO - PICK_FROM));
    if (await free(port)) return port;
  }
  throw new Error(`no free port in ${PICK_FROM}..${PICK_TO} after 200 tries`);
}

/** A UDP port on 127.0.0.1 that was free a moment ago (bound, then closed). */
export function freePort(): Promise<number> {
  return pickPort((port) =>
    new Promise((resolve) => {
      const s = dgram.createSocket("udp4");
      s.once("error", () => {
        try {
          s.close();
        } catch { /* never bound */ }
        resolve(false);
      });
      s.bind(port, LOOPBACK, () => s.close(() => resolve(true)));
    })
  );
}

/** A TCP port on 127.0.0.1 that was free a moment ago (see PICK_FROM). */
export function freeTcpPort(): Promise<number> {
  return pickPort((port) =>
    new Promise((resolve) => {
      const s = net.createServer();
      s.once("error", () => resolve(false));
      s.listen(port, LOOPBACK, () => s.close(() => resolve(true)));
    })
  );
}

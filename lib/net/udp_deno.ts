/**
 * The `Transport` (lib/wire/transport.ts) on Deno's own datagram API
 * (`Deno.listenDatagram`), which takes several times more datagrams per
 * second than Deno's `node:dgram` (BENCHMARKS.md, "Limits"). Needs the
 * unstable `net` API: `"unstable": ["net"]` in deno.json or `--unstable-net`.
 * Never imported under Node: lib/net/bind.ts loads it dynamically.
 *
 * @example
 * ```ts
 * if (denoDatagramsAvailable()) {
 *   const t = await bindDenoUdp({ host: "127.0.0.1", port: 0 }, (bytes, from) => {});
 *   await t.close();
 * }
 * ```
 */
import type { Address } from "../wire/address.ts";
import type { OnDatagram, Transport, UdpOptions } from "../wire/transport.ts";

type NetAddr = { transport: "udp"; hostname: string; port: number };
type Membership = { setLoopback(loopback: boolean): Promise<void>; leave(): Promise<void> };
type DatagramConn = {
  readonly addr: NetAddr;
  receive(into?: Uint8Array): Promise<[Uint8Array, NetAddr]>;
  send(bytes: Uint8Array, to: NetAddr): Promise<number>;
  joinMulticastV4(group: string, networkInterface: string): Promise<Membership>;
  close(): void;
};
type ListenOptions = { transport: "udp"; hostname: string; port: number; reuseAddress?: boolean; loopback?: boolean };
type DirEntry = { name: string };
type DenoNet = {
  listenDatagram?: (options: ListenOptions) => DatagramConn;
  readTextFileSync(path: string): string;
  readDirSync(path: string): Iterable<DirEntry>;
  readLinkSync(path: string): string;
  dlopen?: (path: string, symbols: Record<string, { parameters: string[]; result: string }>) => {
    symbols: { setsockopt(fd: number, level: number, name: number, value: Int32Array, size: number): number };
  };
};

const deno = (globalThis as unknown as { Deno?: DenoNet }).Deno;

/**
 * Deno sends asynchronously: a burst of replies (a fan-out to 1,000 long
 * polls) is queued, and the datagrams go out only as the event loop gets to
 * them. Receiving (and handling) new requests meanwhile delays the rest of
 * the burst by tens of ms (fan-out p99 52–94 ms measured), so the receive
 * loop pauses while more than SEND_HIGH_WATER sends are queued, until at
 * most SEND_LOW_WATER remain (fan-out p99 ~20 ms); incoming datagrams wait
 * in the socket's receive buffer meanwhile.
 */
const SEND_HIGH_WATER = 64;
const SEND_LOW_WATER = 16;
/** Longest pause of receiving for queued sends, in ms (they normally take well under 1 ms each). */
const SEND_PAUSE_MAX_MS = 20;

/** Largest UDP payload; one receive buffer of this size is reused. */
const MAX_UDP_PAYLOAD = 65_536;

/** Whether `Deno.listenDatagram` is there (Deno with the unstable `net` API). */
export function denoDatagramsAvailable(): boolean {
  return typeof deno?.listenDatagram === "function";
}

/** What the sends and the receive loop of one socket share: closed, sends queued, who waits for them to drain. */
type Flow = { closed: boolean; sending: number; sendsDrained: (() => void) | null };

/** Receives until the socket is closed, pausing while more than SEND_HIGH_WATER sends are queued. */
async function receiveLoop(conn: DatagramConn, onDatagram: OnDatagram, flow: Flow): Promise<void> {
  const buffer = new Uint8Array(MAX_UDP_PAYLOAD);
  while (!flow.closed) {
    // Sends first: while many are queued, receiving more would only delay them.
    if (flow.sending > SEND_HIGH_WATER) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          flow.sendsDrained = null;
          resolve();
        }, SEND_PAUSE_MAX_MS);
        flow.sendsDrained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    let got: [Uint8Array, NetAddr];
    try {
      got = await conn.receive(buffer);
    } catch {
      // Closed (the loop ends), or a socket error: do not spin on it.
      if (!flow.closed) await new Promise((resolve) => setTimeout(resolve, 10));
      continue;
    }
    // The bytes are a view of the shared buffer: hand out a copy.
    onDatagram(got[0].slice(), { host: got[1].hostname, port: got[1].port });
  }
}

/**
 * Binds a UDP socket with `Deno.listenDatagram`; rejects with the OS error
 * (e.g. AddrInUse) when it cannot. `recvBufferSize` and `sendBufferSize` are
 * not offered by this API: on Linux they are set with setsockopt through
 * FFI (`setSocketBuffers`); elsewhere, or without FFI permission, the OS
 * defaults apply.
 */
export async function bindDenoUdp(at: Address, onDatagram: OnDatagram, options: UdpOptions = {}): Promise<Transport> {
  const listen = deno?.listenDatagram;
  if (!listen) throw new TypeError("Deno.listenDatagram is not available: run deno with --unstable-net");
  const conn = listen({
    transport: "udp",
    hostname: at.host,
    port: at.port,
    reuseAddress: !!options.multicastGroup,
    loopback: !!options.multicastGroup,
  });
  if (options.multicastGroup) {
    try {
      const membership = await conn.joinMulticastV4(options.multicastGroup, at.host === "0.0.0.0" ? "0.0.0.0" : at.host);
      await membership.setLoopback(true);
    } catch (e) {
      conn.close();
      throw e;
    }
  }
  if (options.recvBufferSize || options.sendBufferSize) {
    setSocketBuffers(conn.addr.port, options.recvBufferSize ?? 0, options.sendBufferSize ?? 0);
  }
  let sendErrors = 0;
  const flow: Flow = { closed: false, sending: 0, sendsDrained: null };
  const receiving = receiveLoop(conn, onDatagram, flow);
  const done = () => {
    if (--flow.sending <= SEND_LOW_WATER && flow.sendsDrained) {
      const wake = flow.sendsDrained;
      flow.sendsDrained = null;
      wake();
    }
  };
  const failed = () => {
    sendErrors++;
    done();
  };
  return {
    address: { host: conn.addr.hostname, port: conn.addr.port },
    send(bytes, to) {
      flow.sending++;
      try {
        conn.send(bytes, { transport: "udp", hostname: to.host, port: to.port }).then(done, failed);
      } catch (e) {
        flow.sending--; // e.g. closed: lib/net/bind.ts counts what is thrown
        throw e;
      }
    },
    get sendErrors() {
      return sendErrors;
    },
    async close() {
      if (flow.closed) return;
      flow.closed = true;
      conn.close();
      flow.sendsDrained?.();
      await receiving;
    },
  };
}

// --- Socket buffer sizes (Linux, through FFI) -------------------------------------

const SOL_SOCKET = 1, SO_SNDBUF = 7, SO_RCVBUF = 8;

let libc: ReturnType<NonNullable<DenoNet["dlopen"]>> | null | undefined;

/**
 * Sets SO_RCVBUF / SO_SNDBUF (bytes; 0 leaves one alone; the kernel caps
 * them at net.core.rmem_max / wmem_max) of this process's UDP sockets bound
 * to `port`. Deno does not expose a socket's descriptor, so it is found
 * through /proc/net/udp{,6} (port → inode) and /proc/self/fd (inode → fd).
 * Why: the default receive buffer (~212 KB) holds only ~270 small datagrams,
 * so a burst — e.g. 1,000 long polls re-armed at once after a fan-out —
 * overflows it while the server is busy sending. Returns how many sockets
 * were set; 0 (never throws) where this does not work.
 */
export function setSocketBuffers(port: number, recv: number, send: number): number {
  if (!deno || (!recv && !send)) return 0;
  try {
    const inodes = new Set<string>();
    for (const file of ["/proc/net/udp", "/proc/net/udp6"]) {
      let text: string;
      try {
        text = deno.readTextFileSync(file);
      } catch {
        continue;
      }
      for (const line of text.split("\n").slice(1)) {
        const f = line.trim().split(/\s+/);
        if (f.length > 9 && parseInt(f[1].slice(f[1].lastIndexOf(":") + 1), 16) === port) inodes.add(f[9]);
      }
    }
    if (inodes.size === 0) return 0;
    const fds: number[] = [];
    for (const e of deno.readDirSync("/proc/self/fd")) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(deno.readLinkSync(`/proc/self/fd/${e.name}`));
        if (m && inodes.has(m[1])) fds.push(Number(e.name));
      } catch { /* closed meanwhile */ }
    }
    if (fds.length === 0) return 0;
    if (libc === undefined) {
      try {
        libc = deno.dlopen?.("libc.so.6", { setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" } }) ?? null;
      } catch {
        libc = null;
      }
    }
    if (!libc) return 0;
    const value = new Int32Array(1);
    let set = 0;
    for (const fd of fds) {
      let ok = true;
      if (recv) (value[0] = recv, ok = libc.symbols.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, value, 4) === 0 && ok);
      if (send) (value[0] = send, ok = libc.symbols.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, value, 4) === 0 && ok);
      if (ok) set++;
    }
    return set;
  } catch {
    return 0;
  }
}

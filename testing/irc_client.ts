/**
 * A raw IRC client over TCP for tests (tests/irc_*_test.ts): it keeps every
 * line it was sent; `waitFor` takes the lines up to the first that matches
 * (throwing after DEADLINE_MS with what came).
 *
 * @example
 * ```ts
 * const c = await ircClient(6667);
 * c.send("NICK alice"); c.send("USER alice 0 * :Alice");
 * await c.waitFor(/ 001 /);
 * ```
 */
import net from "node:net";
import tls from "node:tls";
import { freeTcpPort, type ServerHandle, startServer } from "./harness.ts";

/** How long `waitFor` waits. */
const DEADLINE_MS = 10_000;

/** A raw IRC client: the lines it was sent, and a wait for the next line matching a pattern (10 s at most). */
export type Irc = { lines: string[]; send(line: string | Uint8Array): void; waitFor(re: RegExp): Promise<string>; closed: Promise<void>; end(): void };

/** Connects to an IRC port on 127.0.0.1 (`tls`: over TLS, any certificate accepted). */
export function ircClient(port: number, o: { tls?: boolean } = {}): Promise<Irc> {
  return new Promise((resolve, reject) => {
    const sock = o.tls ? tls.connect({ port, host: "127.0.0.1", rejectUnauthorized: false }) : net.connect(port, "127.0.0.1");
    const lines: string[] = [];
    let buf = "";
    const waiters = new Set<() => void>();
    const closed = new Promise<void>((r) => sock.on("close", () => r()));
    sock.on("data", (d: Uint8Array) => {
      buf += new TextDecoder().decode(d);
      const parts = buf.split("\r\n");
      buf = parts.pop()!;
      lines.push(...parts);
      for (const w of [...waiters]) w();
    });
    sock.on("error", () => {});
    sock.once(o.tls ? "secureConnect" : "connect", () =>
      resolve({
        lines,
        send: (line) => sock.write(typeof line === "string" ? line + "\r\n" : line),
        closed,
        end: () => sock.destroy(),
        waitFor: (re) =>
          new Promise((res, rej) => {
            const check = () => {
              const i = lines.findIndex((l) => re.test(l));
              if (i < 0) return;
              waiters.delete(check);
              clearTimeout(timer);
              res(lines.splice(0, i + 1).at(-1)!);
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              rej(new Error(`no line matching ${re} within ${DEADLINE_MS} ms; got:\n${lines.join("\n")}`));
            }, DEADLINE_MS);
            waiters.add(check);
            check();
          }),
      })
    );
    sock.once("error", reject);
  });
}


/** An IRC client on `port` registered as `nick` (NICK, USER, then the end of the MOTD). */
export async function ircUser(port: number, nick: string): Promise<Irc> {
  const c = await ircClient(port);
  c.send(`NICK ${nick}`);
  c.send(`USER ${nick} 0 * :${nick}`);
  await c.waitFor(/ 376 | 422 /);
  return c;
}

/** Starts server `id` of the servers file `file` with an IRC listener on a free port (logins not throttled, one-disk acks). */
export async function startIrcServer(id: string, file: string): Promise<{ server: ServerHandle; port: number }> {
  const port = await freeTcpPort();
  const server = await startServer({ id, servers: file, extraArgs: ["--quota", "logins-per-ip-minute=0", "--one-disk-acks", "--irc", `127.0.0.1:${port}`] });
  return { server, port };
}

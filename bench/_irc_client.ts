/**
 * A minimal raw IRC client (RFC 2812) over node:net for the IRC anchors:
 * registers, answers PING, joins a channel, sends PRIVMSG lines and hands
 * received channel lines to a callback. It adapts to the `ChatEndpoint` of
 * bench/_scenarios.ts.
 *
 * @example
 * ```ts
 * const c = await connectIrc({ host: "127.0.0.1", port: 6667 }, "alice");
 * await c.join("#bench");
 * c.endpoint("#bench").send("hello");
 * c.close();
 * ```
 */
import net from "node:net";
import type { Address } from "../lib/wire/address.ts";
import type { ChatEndpoint } from "./_scenarios.ts";

/** A parsed IRC line: `:prefix COMMAND param... :trailing`. */
export type IrcMessage = { prefix: string; command: string; params: string[] };

/** Parses one IRC line (without CRLF). */
export function parseIrc(line: string): IrcMessage {
  let rest = line;
  let prefix = "";
  if (rest.startsWith(":")) {
    const sp = rest.indexOf(" ");
    prefix = rest.slice(1, sp < 0 ? undefined : sp);
    rest = sp < 0 ? "" : rest.slice(sp + 1);
  }
  const params: string[] = [];
  while (rest.length) {
    if (rest.startsWith(":")) {
      params.push(rest.slice(1));
      break;
    }
    const sp = rest.indexOf(" ");
    if (sp < 0) {
      params.push(rest);
      break;
    }
    if (sp > 0) params.push(rest.slice(0, sp));
    rest = rest.slice(sp + 1);
  }
  return { prefix, command: (params.shift() ?? "").toUpperCase(), params };
}

export type IrcClient = {
  readonly nick: string;
  /** Writes one line; resolves at once, or when the socket has drained. */
  send(line: string): Promise<void>;
  /** Sends `line` and resolves with the first message `until` accepts. */
  request(line: string, until: (m: IrcMessage) => boolean, timeoutMs?: number): Promise<IrcMessage>;
  join(channel: string): Promise<void>;
  /** OPER, then user mode +F so ngircd never throttles this client. */
  operUp(name: string, password: string): Promise<void>;
  /** The client as a chat endpoint on `channel`. */
  endpoint(channel: string): ChatEndpoint;
  close(): void;
};

/** Connects and registers as `nick`; rejects after `timeoutMs`. */
export function connectIrc(at: Address, nick: string, timeoutMs = 10_000): Promise<IrcClient> {
  const socket = net.connect(at.port, at.host);
  socket.setNoDelay(true);
  socket.setEncoding("utf8");
  const watchers = new Set<(m: IrcMessage) => void>();
  const onText = new Map<string, ((text: string) => void)[]>();
  let partial = "";
  socket.on("data", (chunk: string) => {
    partial += chunk;
    let nl;
    while ((nl = partial.indexOf("\n")) >= 0) {
      const line = partial.slice(0, nl).replace(/\r$/, "");
      partial = partial.slice(nl + 1);
      if (!line) continue;
      const m = parseIrc(line);
      if (m.command === "PING") socket.write(`PONG :${m.params[0] ?? ""}\r\n`);
      else if (m.command === "PRIVMSG") for (const cb of onText.get(m.params[0]?.toLowerCase()) ?? []) cb(m.params[1] ?? "");
      for (const w of watchers) w(m);
    }
  });
  let closed = false;
  socket.on("error", () => {});
  socket.on("close", () => (closed = true));

  const send = (line: string) =>
    new Promise<void>((resolve) => {
      if (closed || socket.write(line + "\r\n")) resolve();
      else socket.once("drain", () => resolve());
    });
  const request = (line: string, until: (m: IrcMessage) => boolean, ms = timeoutMs) =>
    new Promise<IrcMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        watchers.delete(watch);
        reject(new Error(`IRC ${at.host}:${at.port} ${nick}: no answer to "${line.split(" ")[0]}" in ${ms} ms`));
      }, ms);
      const watch = (m: IrcMessage) => {
        if (m.command === "ERROR" || until(m)) {
          clearTimeout(timer);
          watchers.delete(watch);
          if (m.command === "ERROR" && !until(m)) reject(new Error(`IRC ${nick}: ERROR ${m.params.join(" ")}`));
          else resolve(m);
        }
      };
      watchers.add(watch);
      if (line) void send(line);
    });
  const client: IrcClient = {
    nick,
    send,
    request,
    async join(channel) {
      await request(`JOIN ${channel}`, (m) => m.command === "366" && m.params[1]?.toLowerCase() === channel.toLowerCase());
    },
    async operUp(name, password) {
      const m = await request(`OPER ${name} ${password}`, (m) => m.command === "381" || m.command === "464" || m.command === "491");
      if (m.command !== "381") throw new Error(`IRC ${nick}: OPER refused (${m.command} ${m.params.join(" ")})`);
      await request(`MODE ${nick} +F`, (m) => m.command === "MODE" && m.params[0] === nick);
    },
    endpoint(channel) {
      const key = channel.toLowerCase();
      return {
        send: (text) => send(`PRIVMSG ${channel} :${text}`),
        onText(cb) {
          onText.set(key, [...(onText.get(key) ?? []), cb]);
        },
      };
    },
    close() {
      if (!closed) socket.end("QUIT :bench done\r\n");
      setTimeout(() => socket.destroy(), 500).unref?.();
    },
  };
  return new Promise((resolve, reject) => {
    socket.once("connect", () => {
      client
        .request(`NICK ${nick}\r\nUSER ${nick} 0 * :DistChat bench`, (m) => m.command === "001")
        .then(() => resolve(client), (e) => {
          socket.destroy();
          reject(e);
        });
    });
    socket.once("error", (e) => reject(new Error(`IRC ${at.host}:${at.port}: ${e.message}`)));
  });
}

/**
 * One in-memory server for a ChatClient (lib/client/chat.ts) in a test: it
 * answers `login`, `connect`, `history`, `rooms` and `room` as a server of
 * one room "lobby" would, 1 ms later; `special` sees every request first and
 * answers it itself when it returns true (it is told which server of the
 * list the request was sent to: every server answers alike otherwise).
 *
 * @example
 * ```ts
 * const transport = scriptedServer((r, answer) => r.verb === "add" && (answer(ackOf(r)), true));
 * const chat = await ChatClient.open({ servers: [{ id: "a" }], transport, … });
 * ```
 */
import type { Reply, Request } from "../lib/wire/messages.ts";
import type { OpenTransport } from "../lib/client/transport.ts";
import { decodeRequest, encodeReply } from "../lib/wire/codec.ts";

/** The transport to the scripted server (see the file comment). */
export function scriptedServer(special: (r: Request, answer: (reply: Reply) => void, to: { id: string }) => boolean | void): OpenTransport {
  return (_list, events) =>
    Promise.resolve({
      send(datagram, to) {
        const q = decodeRequest(datagram);
        if (!q.ok) return;
        const r = q.value;
        const answer = (reply: Reply) => setTimeout(() => events.datagram(encodeReply(reply), to), 1);
        if (special(r, answer, to) === true) return;
        if (r.verb === "login") return answer({ verb: "ok", tag: r.tag, kind: "login", userName: r.userName, token: "T".repeat(43), ttl: 300 });
        if (r.verb === "connect") return answer({ verb: "ok", tag: r.tag, kind: "connect", groupName: r.groupName });
        if (r.verb === "history") return answer({ verb: "ok", tag: r.tag, kind: "history", groupName: r.groupName, cursor: new Map(), more: false, entries: [] });
        if (r.verb === "rooms") return answer({ verb: "ok", tag: r.tag, kind: "rooms", more: false, names: ["lobby"] });
        if (r.verb === "room") return answer({ verb: "ok", tag: r.tag, kind: "room", groupName: r.groupName, mode: "-", topicBy: "bob", topicAt: 0, topic: "", roles: ["~bob"] });
      },
      via: () => "memory",
      close: () => Promise.resolve(),
    });
}

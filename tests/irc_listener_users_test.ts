/** lib/ircd/listener_users.ts: whom SETNAME is told to (channels shared, extended-monitor), with fake connections. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ListenerUsers, type UserLink } from "../lib/ircd/listener_users.ts";
import type { IrcConnection, IrcStep } from "../lib/irc/connection.ts";
import type { IrcMessage } from "../lib/irc/message.ts";

type Fake = UserLink & { heard: string[] };

/** A registered connection of `nick` in `channels`, with `caps`, monitoring `monitor` (keys). */
function fake(nick: string, channels: string[], caps: string[], monitor: string[] = []): Fake {
  const heard: string[] = [];
  const state = { nick, channels: new Map(channels.map((c) => [c, {}])), caps: new Set(caps), monitor: new Map(monitor.map((m) => [m, m])), userModes: new Set<string>(), closing: false };
  const conn = { state, told: (msg: IrcMessage) => (heard.push(`${msg.command} ${msg.params.join(" ")}`), {} as IrcStep) } as unknown as IrcConnection;
  return { conn, closed: false, registered: true, heard };
}

test("SETNAME is told to users sharing a channel and to those that extended-monitor the nick, with the cap; never to the one who set it", () => {
  const links = {
    foo: fake("foo", ["chan"], ["setname"]),
    inChan: fake("bar", ["chan"], ["setname"]),
    noCap: fake("baz", ["chan"], []),
    watcher: fake("qux", [], ["setname", "extended-monitor"], ["foo"]),
    plainMonitor: fake("quux", [], ["setname"], ["foo"]),
    stranger: fake("zed", ["other"], ["setname", "extended-monitor"]),
  };
  const byNick = new Map(Object.values(links).map((l) => [l.conn.state.nick as string, l]));
  const users = new ListenerUsers<Fake>({ byNick, apply: () => {}, now: () => 0, serverName: "a.distchat" });
  users.config.tellChannels!(["chan"], { tags: {}, source: "foo!foo@distchat", command: "SETNAME", params: ["Mr Foo"] }, "setname", "foo");
  const heard = Object.fromEntries(Object.entries(links).map(([k, l]) => [k, l.heard.length]));
  assert.equal(heard, { foo: 0, inChan: 1, noCap: 0, watcher: 1, plainMonitor: 0, stranger: 0 });
});

test.run();

// DistChat's client protocol for the browser (docs/PROTOCOL.md): request
// text and reply parsing, written from the contract alone. The page cannot
// load the server's TypeScript codec, so this is an independent client of
// the contract; tests/web_protocol_test.ts checks it against the codec's
// fixtures. Plain ES module, no dependencies.

/** Escapes message text for the wire: backslash, line feed, carriage return. */
export function escapeText(s) {
  return s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/\r/g, "\\r");
}

/** Undoes escapeText; throws on an escape the protocol does not have. */
export function unescapeText(s) {
  return s.replace(/\\(.?)/g, (_, c) => {
    if (c === "\\") return "\\";
    if (c === "n") return "\n";
    if (c === "r") return "\r";
    throw new Error("bad escape in message text");
  });
}

/** One request datagram: the verb line and its fields, each ending in \n. */
export function requestText(verb, ...fields) {
  return [verb, ...fields.filter((f) => f !== null && f !== undefined)].join("\n") + "\n";
}

/** A msgID string ("a.12", "a~m3k2x1c.7") as { origin, n }. */
export function parseMsgId(s) {
  const i = s.lastIndexOf(".");
  return { origin: s.slice(0, i), n: Number(s.slice(i + 1)) };
}

/**
 * Parses a reply datagram (docs/PROTOCOL.md "Replies"). Returns
 * { verb: "error", tag, code, message } | { verb: "poll", tag, groupName, cursor, more, entries }
 * | { verb: "ok", tag, kind, ... }; throws on what is not a reply.
 * Entries: { id, user, at, msg }. Cursors stay strings (opaque: echo them).
 */
export function parseReply(text) {
  const lines = text.split(/\r?\n/);
  if (lines.pop() !== "") throw new Error("reply does not end with a newline");
  let i = 0;
  const next = () => {
    if (i >= lines.length) throw new Error("reply too short");
    return lines[i++];
  };
  const entries = (n) => {
    const out = [];
    for (let k = 0; k < n; k++) out.push({ id: next(), user: next(), at: Number(next()), msg: unescapeText(next()) });
    return out;
  };
  const verb = next();
  const tag = next();
  let r;
  if (verb === "error") r = { verb, tag, code: next(), message: next() };
  else if (verb === "poll") {
    const groupName = next(), cursor = next(), more = next() === "1", count = Number(next());
    r = { verb, tag, groupName, cursor, more, entries: entries(count) };
  } else if (verb === "ok") {
    const kind = next();
    switch (kind) {
      case "login":
        r = { verb, tag, kind, userName: next(), token: next(), ttl: Number(next()) };
        if (i < lines.length) r.serverFinal = next(); // a password login
        break;
      case "auth":
        r = { verb, tag, kind, userName: next(), serverFirst: next() };
        break;
      case "register":
      case "pubkey":
        r = { verb, tag, kind, userName: next() };
        break;
      case "password":
      case "drop":
        r = { verb, tag, kind, userName: next(), serverFinal: next() };
        break;
      case "whois": {
        const userName = next(), registered = next() === "1", idle = next(), publicKey = next(), count = Number(next());
        r = { verb, tag, kind, userName, registered, idle: idle === "-" ? null : Number(idle), publicKey, rooms: Array.from({ length: count }, next) };
        break;
      }
      case "dms": {
        const count = Number(next());
        r = { verb, tag, kind, entries: Array.from({ length: count }, () => ({ groupName: next(), last: next() })) };
        for (const e of r.entries) if (e.last === "-") e.last = null;
        break;
      }
      case "room": {
        const groupName = next(), mode = next(), topicBy = next(), topicAt = Number(next()), topic = unescapeText(next()), count = Number(next());
        r = { verb, tag, kind, groupName, mode, topicBy, topicAt, topic, roles: Array.from({ length: count }, next) };
        break;
      }
      case "mod":
        r = { verb, tag, kind, groupName: next(), action: next(), target: next() };
        break;
      case "open":
      case "connect":
      case "leave":
        r = { verb, tag, kind, groupName: next() };
        break;
      case "add":
        r = { verb, tag, kind, msg: unescapeText(next()), groupName: next(), msgId: next() };
        break;
      case "rooms": {
        const more = next() === "1", count = Number(next());
        r = { verb, tag, kind, more, names: Array.from({ length: count }, next) };
        break;
      }
      case "who": {
        const groupName = next(), more = next() === "1", count = Number(next());
        r = { verb, tag, kind, groupName, more, names: Array.from({ length: count }, next) };
        break;
      }
      case "logout":
        r = { verb, tag, kind };
        break;
      case "history": {
        const groupName = next(), cursor = next(), more = next() === "1", count = Number(next());
        r = { verb, tag, kind, groupName, cursor, more, entries: entries(count) };
        break;
      }
      default:
        throw new Error(`unknown reply kind ${kind}`);
    }
  } else throw new Error(`not a reply verb: ${verb}`);
  if (i !== lines.length) throw new Error("extra lines after the reply");
  return r;
}

/**
 * A notice or action (docs/PROTOCOL.md "Notices": text starting with U+0001)
 * as a line, "* bob joined"; null for a plain message.
 */
export function noticeText(user, text) {
  if (!text.startsWith("\u0001")) return null;
  const m = /^\u0001(\S+) ?(\S*) ?([\s\S]*)$/.exec(text);
  if (!m) return null;
  const [, word, target, rest] = m;
  const why = rest === "" ? "" : ` (${rest})`;
  switch (word) {
    case "me": return `* ${user} ${[target, rest].filter((x) => x !== "").join(" ")}`;
    case "join": return `* ${user} joined`;
    case "leave": return `* ${user} left`;
    case "kick": return `* ${user} kicked ${target}${why}`;
    case "ban": return `* ${user} banned ${target}${why}`;
    case "unban": return `* ${user} lifted the ban on ${target}`;
    case "op": return `* ${user} made ${target} an operator`;
    case "deop": return `* ${user} took operator from ${target}`;
    case "topic": return rest === "" ? `* ${user} cleared the topic` : `* ${user} set the topic: ${rest}`;
    case "mode": return target === "+i" ? `* ${user} made the room invite-only` : `* ${user} opened the room to all`;
  }
  return `* ${user} ${word} ${target}${why}`;
}

/**
 * Text made safe to show: C0/C1 controls (but line feed and tab) and the
 * bidirectional controls are shown as \u{…} escapes, so no message can
 * reorder or hide the text around it. The page only ever sets textContent.
 */
export function visible(s) {
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u{${c.codePointAt(0).toString(16)}}`);
}

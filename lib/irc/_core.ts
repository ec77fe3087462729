/**
 * What the command handlers of lib/irc/ share (private to the folder): the
 * connection's state, the response context of one command (for
 * labeled-response), and the narrow interface handlers act through —
 * answer the client, run a DistChat request and continue with its reply.
 * lib/irc/connection.ts implements it.
 */
import type { PollEntry, Reply, Request } from "../wire/messages.ts";
import type { Vector } from "../wire/vector.ts";
import type { IrcMessage } from "./message.ts";
import type { WhowasEntry } from "./whowas.ts";

/** Settings of one IRC listener (the same for all its connections). */
export type IrcConfig = {
  /** The server's name in IRC sources and numerics, e.g. "a.distchat". */
  serverName: string;
  /** ISUPPORT NETWORK. */
  network: string;
  /** RPL_MYINFO / 002 version text. */
  version: string;
  /** When the server started (ms), for 003. */
  createdAt: number;
  /** The message of the day, a line each; empty: ERR_NOMOTD. */
  motd: string[];
  /** Servers in the cluster (LUSERS). */
  servers: number;
  /** How long a long poll is held, ms (docs/PROTOCOL.md: at most 30000). */
  pollWaitMs: number;
  /** Random bytes (SASL PLAIN's SCRAM nonce): passed in, so tests are deterministic. */
  random: (n: number) => Uint8Array;
  /** How often to ask `dms` for new direct conversations, ms. */
  dmsEveryMs: number;
  /**
   * This listener's registered users now (of them `invisible`, user mode +i, and `opers`, +o) and at most, and its
   * connections not registered yet (LUSERS); the listener knows them, not a connection.
   */
  census?: () => { local: number; max: number; invisible?: number; unregistered?: number; opers?: number };
  /**
   * Where the account's previous connection left off (docs/IRC.md "Failover"): the vector of what the
   * previous session of `userName` (other than this one, of session token `token`) was shown, or null
   * when unknown. A JOIN of a connection logged in to an account replays, once, what that does not cover.
   */
  readPosition?: (userName: string, token: string) => Vector | null;
  /**
   * What this listener knows of a nick connected to it (its USER name, real name, away message), or null:
   * DistChat keeps none of these (issue 26 brings away status), so WHO, WHOIS, USERHOST and RPL_AWAY show
   * them for users of the same server only, and a nick's own for others.
   */
  localUser?: (nick: string) => LocalUser | null;
  /**
   * Channels are fed by the listener's shared stream of each room (one long poll per room per server,
   * lib/ircd/feeds.ts) instead of a long poll per connection: a follow asks for it with IrcStep.watch
   * and the listener hands it each batch (IrcConnection.feed). Direct conversations poll on their own.
   */
  sharedFeeds?: boolean;
  /** Whether `nick` is a bot (user mode +B) connected to this listener (lib/irc/_bot.ts). */
  botOf?: (nick: string) => boolean;
  /** Whether the server knows `nick` to be away (said on any server: docs/PROTOCOL.md "Typing and away"). */
  awayOf?: (nick: string) => boolean;
  /** The registered users of this listener (WHO with a mask: DistChat lists users per room only). */
  localUsers?: () => { nick: string; invisible: boolean; rooms: string[] }[];
  /**
   * The name of the live DistChat session holding `nick` anywhere in the cluster, as it is written, or null
   * (MONITOR: lib/irc/_monitor.ts).
   */
  onlineOf?: (nick: string) => string | null;
  /** The server's description (LINKS, INFO). */
  info?: string;
  /** The DistChat ids of the cluster's other servers (LINKS). */
  peers?: readonly string[];
  /** IRC operators are configured (OPER checks a password with a proof job `{ oper, password }`); else OPER is 491. */
  operators?: boolean;
  /** Disconnects this listener's connection of `nick` (KILL), telling it `reason`; false when it has none. */
  kill?: (nick: string, reason: string) => boolean;
  /** Who used `nick` on this listener lately, newest first, at most `count` when positive (WHOWAS: lib/irc/whowas.ts). */
  whowas?: (nick: string, count: number) => WhowasEntry[];
  /** Sends `msg` to this listener's users but `except` that asked for `cap` and are in one of `rooms` (keys) or extended-monitor `except` (SETNAME). */
  tellChannels?: (rooms: string[], msg: IrcMessage, cap: string, except: string) => void;
  /** Sends `msg` to this listener's users of user mode +w but `except` (WALLOPS: listener-local). */
  wallops?: (msg: IrcMessage, except: string) => void;
};

/** A user connected to the same listener, as WHO and WHOIS show it. */
export type LocalUser = { user: string; realname: string; away: string | null; signon?: number; oper?: boolean; bot?: boolean };

/** One command's answer being gathered: sent when no request of it is open any more. */
export type Ctx = { label: string | null; command: string; startedAt: number; lines: IrcMessage[]; open: number; done: boolean };

/** A channel this connection is in, or a direct conversation it follows (`room` "@nick"). */
export type Follow = {
  /** The DistChat name: a room as its creator wrote it, or "@nick". */
  room: string;
  cursor: Vector;
  /** Highest n shown per origin (a repeated entry is shown once). */
  shown: Vector;
  /** A long poll is out. */
  polling: boolean;
  /** Bumped when the follow restarts: replies to older polls are dropped. */
  generation: number;
  /** Don't poll before (after an error). */
  retryAt: number;
  failures: number;
  /** Lines this connection made itself and will see again in the stream: "user\ntext" → count. */
  expected: Map<string, number>;
  /** This connection's own messages the stream brought back, by msgid (for an echo whose ack came after them). */
  ownSeen: Map<string, PollEntry>;
  /** Echoes (echo-message) waiting for their message in the stream, by msgid: the stream has its time. */
  echoes: Map<string, PendingEcho>;
  /** Members as last listed (channels only), by key → name as shown. */
  members: Map<string, string>;
  /** Reaction counts of recent messages, by msgid (a `react` notice is told as what changed). */
  reactions: Map<string, Map<string, number>>;
  /** Shared stream (IrcConfig.sharedFeeds): batches waiting to be shown, in order (one is being shown). */
  backlog: { entries: PollEntry[]; cursor: Vector }[];
  /** Shared stream: this follow is reading what it missed on its own before it watches the stream again. */
  catchingUp: boolean;
};

/** An echo waiting for its message: the command's answer stays open (`release`) until it is sent. */
export type PendingEcho = {
  ctx: Ctx;
  /** PRIVMSG or NOTICE, as the client sent it. */
  command: string;
  /** The channel, or the nick of a direct message. */
  target: string;
  direct: boolean;
  /** The DistChat text sent. */
  text: string;
  clientTags: Record<string, string>;
  since: number;
  release: () => void;
};

/**
 * PBKDF2 work the front end must do for a password it was given, off the event loop: a SCRAM proof (SASL
 * PLAIN, PASS: `clientFirstBare` and `serverFirst`; answered with the client-final), a new account's verifier
 * (REGISTER: `salt` in base64 and `iterations`; answered "storedKey serverKey" in base64), or an OPER password
 * checked against operator `oper`'s verifier (answered "ok", null for a wrong one, or "rate-limited" while the
 * listener makes the client's address wait).
 */
export type ProofWork = { password: string } & ({ clientFirstBare: string; serverFirst: string } | { salt: string; iterations: number } | { oper: string });
/** A ProofWork with the id its answer comes back with (IrcConnection.proved). */
export type ProofJob = { id: number } & ProofWork;

/** Where a SASL exchange stands: the mechanism, base64 chunks so far, and the step. */
export type SaslState = { mech: string; chunks: string; step: "first" | "final" | "ack" | "busy"; name: string; bare: string };

/** Everything a connection knows of its client and its DistChat session. */
export type ConnState = {
  nick: string | null;
  user: string | null;
  realname: string;
  pass: string | null;
  /** CAP negotiation in progress (registration waits for CAP END). */
  capNegotiating: boolean;
  capVersion: number;
  caps: Set<string>;
  registered: boolean;
  /** A registration login is out. */
  loggingIn: boolean;
  token: string | null;
  /** The DistChat user name of the session (the nick, once registered). */
  userName: string | null;
  /** The account the session is bound to (SASL, PASS or REGISTER), or null. */
  account: string | null;
  away: string | null;
  /** When the away state was last said to DistChat (it is said again every few minutes while away). */
  awaySaid: number;
  /** Whether this client was last told each user (by key) is away (away-notify: each change told once). */
  awayTold: Map<string, boolean>;
  /** An AUTHENTICATE exchange in progress. */
  sasl: SaslState | null;
  /** The session's idle lifetime, s (from its login). */
  ttl: number;
  userModes: Set<string>;
  channels: Map<string, Follow>;
  /** Where the previous connection of the account left off (undefined: not asked yet); channels already replayed from it. */
  readPosition: Vector | null | undefined;
  replayed: Set<string>;
  dms: Map<string, Follow>;
  /** Newest msgID seen per direct conversation (from `dms`), by key of "@nick". */
  dmLast: Map<string, string | null>;
  /** The first `dms` answer was taken as what this connection need not show. */
  dmsBaseline: boolean;
  /**
   * Nicks this connection MONITORs, by key → as the client wrote them (listener-local: lib/irc/_monitor.ts).
   * Replaced by a new map on every change, never changed in place: the listener sees a new list by identity.
   */
  monitor: ReadonlyMap<string, string>;
  /** Whether a name is registered, as whois said, and when. */
  accounts: Map<string, { registered: boolean; at: number }>;
  lastInput: number;
  lastRequest: number;
  lastDms: number;
  pingSent: number | null;
  connectedAt: number;
  closing: boolean;
};

/** What handlers act through. */
export interface Core {
  readonly config: IrcConfig;
  readonly state: ConnState;
  readonly now: number;
  /** `:server CODE <nick or *> …params` into the command's answer. */
  numeric(ctx: Ctx, code: string, ...params: string[]): void;
  /** A line into the command's answer. */
  send(ctx: Ctx, msg: IrcMessage): void;
  /** A line to the client now, outside any command's answer (events). */
  push(msg: IrcMessage): void;
  /** `FAIL command code [context…] :text` (IRCv3 standard replies). */
  fail(ctx: Ctx, command: string, code: string, ...rest: string[]): void;
  /** Runs a request with the session's token; `then` gets its reply. */
  call(ctx: Ctx | null, build: (tag: string, token: string) => Request, then: (r: Reply) => void): void;
  /** Runs a request without a token (login, auth). */
  callBare(ctx: Ctx | null, build: (tag: string) => Request, then: (r: Reply) => void): void;
  /** Has the front end compute a SCRAM client-final; `then` gets it (null: the challenge was malformed). */
  prove(ctx: Ctx | null, job: ProofWork, then: (clientFinal: string | null) => void): void;
  /** Ends the connection after the lines so far: `ERROR :reason`, and the session logged out. */
  close(reason: string): void;
  /** This user's source, nick!nick@host. */
  me(): string;
  /** Starts following a channel or conversation from `cursor`. */
  follow(f: Follow): void;
  /** A new id for a BATCH. */
  batchId(): string;
  /** Keeps `ctx`'s answer open until the returned function is called. */
  hold(ctx: Ctx): () => void;
  /** Tells the listener this connection sent a direct message to `nick` (IrcStep.dmsTo). */
  sentDm(nick: string): void;
  /** Asks the listener for the shared stream of `f`'s room from `f.cursor` (IrcStep.watch). */
  watch(f: Follow): void;
  /** Tells the listener this account's read marker of `target` is now `value` (IrcStep.readMarks). */
  markedRead(target: string, value: string): void;
}

/** The state of a connection that has just opened. */
export function newState(now: number): ConnState {
  return {
    nick: null,
    user: null,
    realname: "",
    pass: null,
    capNegotiating: false,
    capVersion: 0,
    caps: new Set(),
    registered: false,
    loggingIn: false,
    token: null,
    userName: null,
    account: null,
    away: null,
    awaySaid: 0,
    awayTold: new Map(),
    sasl: null,
    ttl: 300,
    userModes: new Set(),
    channels: new Map(),
    readPosition: undefined,
    replayed: new Set(),
    dms: new Map(),
    dmLast: new Map(),
    dmsBaseline: false,
    monitor: new Map(),
    accounts: new Map(),
    lastInput: now,
    lastRequest: now,
    lastDms: 0,
    pingSent: null,
    connectedAt: now,
    closing: false,
  };
}

/** A fresh follow of `room` from `cursor`. */
export function newFollow(room: string, cursor: Vector, shown: Vector = cursor): Follow {
  return { room, cursor, shown, polling: false, generation: 0, retryAt: 0, failures: 0, expected: new Map(), ownSeen: new Map(), echoes: new Map(), members: new Map(), reactions: new Map(), backlog: [], catchingUp: false };
}

/** An IRC message from the server (no tags). */
export function fromServer(ctx: { config: IrcConfig }, command: string, params: string[]): IrcMessage {
  return { tags: {}, source: ctx.config.serverName, command, params };
}

/** A command handler: the connection, the message, its answer's context. */
export type Handler = (c: Core, m: IrcMessage, ctx: Ctx) => void;

/** What to do after one input. */
export type IrcStep = {
  /** IRC lines to send, in order, without CR LF. */
  lines: string[];
  /** DistChat requests to run; answer each with `reply` (matched by tag). */
  requests: Request[];
  /** PBKDF2 work (SCRAM proofs, REGISTER verifiers, OPER checks) to do off the event loop; answer each with `proved`. */
  proofs: ProofJob[];
  /** Close the connection once the lines are sent. */
  close: boolean;
  /** Nicks this connection just sent a direct message to: the listener calls `checkDms` on its connections of them. */
  dmsTo: string[];
  /** Channels that want their room's shared stream from `cursor` on (IrcConfig.sharedFeeds; answer with `feed`). */
  watch: { room: string; cursor: Vector }[];
  /** Read markers this connection moved (MARKREAD): the listener calls `readMarkMoved` on the account's other connections. */
  readMarks?: { target: string; value: string }[];
};

/** A step with nothing to do yet. */
export const emptyStep = (): IrcStep => ({ lines: [], requests: [], proofs: [], close: false, dmsTo: [], watch: [] });

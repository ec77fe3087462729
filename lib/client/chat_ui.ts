/**
 * What the chat client (lib/client/chat.ts) asks of each face: `ChatUi`
 * (how to show a message, a notice, an error, how to ask for a secret) and
 * the options a client is opened with.
 */
import type { PollEntry, RoomInfoReply } from "../wire/messages.ts";
import type { KeyFile } from "./key_file.ts";
import type { LinkStatus } from "./connection.ts";
import type { ActsUi } from "./message_acts.ts";
import type { RoomKeys } from "./seal.ts";
import type { SessionUi } from "./session.ts";
import type { KeyMemory } from "./social.ts";
import type { MessageView } from "./wording.ts";

/** A secret the client needs from the user. */
export type SecretAsk =
  | { kind: "login-password"; user: string }
  | { kind: "current-password"; purpose: "password" | "unregister" }
  | { kind: "new-password"; purpose: "register" | "password" }
  | { kind: "passphrase"; room: string };

/** A message with how to show it. */
export type Shown = { entry: PollEntry; view: MessageView };

export type ChatUi = Omit<SessionUi, "message" | "older"> & Omit<ActsUi, "output" | "error" | "notice"> & {
  /** A message of someone else that mentions this user arrived (the terminal rings the bell, the page notifies). */
  mentioned?(room: string, entry: PollEntry, view: MessageView): void;
  /** Whether a message of `room` shown now is read (default: yes; the page says only while the room is in view). */
  reads?(room: string): boolean;
  /** A message of `room`, in order, with how to show it. */
  show(room: string, entry: PollEntry, view: MessageView): void;
  /** A page of older messages, oldest first (`more`: older ones exist). Without it: lines between `---` notices. */
  showOlder?(room: string, items: Shown[], more: boolean): void;
  /** Earlier messages of `room` that a passphrase just given opens. */
  reopened?(room: string, items: Shown[]): void;
  /** A room's settings (topic, mode, roles). */
  roomInfo?(info: RoomInfoReply): void;
  /** The link's state changed (lib/client/connection.ts). */
  status?(s: LinkStatus): void;
  /** What the link says ("server a is not answering; reconnecting…", "connected to b"). Without it: a notice. */
  link?(text: string): void;
  /** Whether `room` seals what is sent there changed. */
  sealed?(room: string, on: boolean): void;
  /**
   * A form of the UI's own for an account change (`/register`, `/password`,
   * `/unregister`): it calls register/changePassword/unregister itself.
   * Without it the client asks for each secret.
   */
  accountForm?(what: "register" | "password" | "unregister"): void;
  /** Asks for a secret; null when cancelled or impossible (the UI says why). */
  askSecret(ask: SecretAsk): Promise<string | null>;
  /** Placeholders of sealed messages hint at `/key` ("command") or at `--key-file` ("file"). */
  hints: "command" | "file";
};

export type ChatOptions = {
  ui: ChatUi;
  userName: string;
  /** How long a server may hold a poll, ms. */
  waitMs: number;
  /** Messages shown when joining a room (its newest). Default 20. */
  historyLines?: number;
  /** The password of a registered name (null: asked for when needed). */
  password?: string | null;
  /** Room passphrases from `--key-file`. */
  keyFile?: KeyFile | null;
  /** The room keys (tests inject a fast key derivation). */
  keys?: RoomKeys;
  /** Other users' DM keys as first seen. */
  known: KeyMemory;
  /** PBKDF2 rounds of a new verifier (default 600,000; tests use fewer). */
  iterations?: number;
  /** How often to ask for new direct conversations, ms (default 3000). */
  dmsEveryMs?: number;
  /** The session cannot go on (its name was registered by its owner). */
  onEnded?: (why: string) => void;
  sleep?: (ms: number) => Promise<void>;
};

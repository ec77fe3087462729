/**
 * The terminal's side of typing (docs/PROTOCOL.md "Typing and away"): every
 * few seconds, in the room typed into, it says `typing` while the user types
 * and `idle` otherwise — each answer tells who else is typing or away there,
 * which the UI shows — and `idle` at once when the user sends a line, so
 * the others' "bob is typing…" goes with the message. The web page runs
 * the same loop with its own timer (web/controller.js).
 *
 * @example
 * ```ts
 * const loop = presenceLoop({ everyMs: 3000, room: () => "lobby", typing: () => false, say: (room, state) => acts.presence(room, state) });
 * loop.sent(); // a line was sent
 * loop.stop();
 * ```
 */

export type PresenceLoopOptions = {
  /** How often to say it, ms (typing lasts 6 s at the server: at most half that). */
  everyMs: number;
  /** The room typed into, or null. */
  room: () => string | null;
  /** Whether the user is typing now. */
  typing: () => boolean;
  /** Says a state in a room (and shows the answer). */
  say: (room: string, state: "typing" | "idle") => Promise<unknown>;
};

/** Starts the loop; `sent()` after each line sent, `stop()` at the end. */
export function presenceLoop(o: PresenceLoopOptions): { sent(): void; stop(): void } {
  /** The room where we last said `typing`, until we say `idle` there. */
  let typingIn: string | null = null;
  let busy = false;
  const tick = async (after: "tick" | "sent") => {
    const room = o.room();
    if (busy || room === null) return;
    const state = after === "tick" && o.typing() ? "typing" : "idle";
    if (after === "sent" && typingIn === null) return;
    busy = true;
    try {
      if (typingIn !== null && typingIn !== room) await o.say(typingIn, "idle");
      await o.say(room, state);
      typingIn = state === "typing" ? room : null;
    } catch {
      // said again at the next tick
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick("tick"), o.everyMs);
  (timer as { unref?: () => void }).unref?.();
  return { sent: () => void tick("sent"), stop: () => clearInterval(timer) };
}

/**
 * A WebSocket client of the web transport for the benchmarks (docs/PROTOCOL.md
 * "Web transport"): `ask` sends a datagram and resolves with the reply that
 * carries its tag. Uses the runtime's global WebSocket (Node ≥ 22, Deno).
 *
 * @example
 * ```ts
 * const s = await socketTo("http://127.0.0.1:8001");
 * const reply = await s.ask("login\n1\nbob\n");
 * s.close();
 * ```
 */
export type WebSocketClient = { ask(text: string): Promise<string>; close(): void };

export async function socketTo(web: string): Promise<WebSocketClient> {
  const ws = new WebSocket(`${web.replace(/^http/, "ws")}/ws`);
  const waiting = new Map<string, (t: string) => void>();
  ws.onmessage = (e) => {
    const text = String(e.data);
    const t = text.split("\n", 2)[1];
    waiting.get(t)?.(text);
    waiting.delete(t);
  };
  await new Promise((resolve, reject) => ((ws.onopen = resolve), (ws.onerror = reject)));
  return {
    ask: (text) => new Promise<string>((resolve) => (waiting.set(text.split("\n", 2)[1], resolve), ws.send(text))),
    close: () => ws.close(),
  };
}

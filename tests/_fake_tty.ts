/**
 * A stdin that says it is a terminal (isTTY, raw mode), for tests of the
 * terminal client's prompt (lib/client/terminal.ts) without a real one.
 */
import { PassThrough } from "node:stream";

export type FakeTty = PassThrough & { isTTY: boolean; isRaw: boolean; setRawMode(raw: boolean): FakeTty };

/** A fresh fake terminal input: write keys into it. */
export function fakeTty(): FakeTty {
  const s = new PassThrough() as FakeTty;
  s.isTTY = true;
  s.isRaw = false;
  s.setRawMode = (raw) => {
    s.isRaw = raw;
    return s;
  };
  return s;
}

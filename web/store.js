// The page's one state store: a plain object replaced (never mutated) on
// every change, and the components that read it re-render. Actions live in
// web/controller.js; components only read and call actions.
import { useEffect, useState } from "preact/hooks";

/** A store holding `initial`; `update(fn)` replaces the state with fn(state). */
export function createStore(initial) {
  let state = initial;
  const listeners = new Set();
  return {
    get: () => state,
    update(fn) {
      const next = fn(state);
      if (next === state) return;
      state = next;
      for (const l of listeners) l(state);
    },
    subscribe(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
}

/** The store's state, in a component; re-renders it on every change. */
export function useStore(store) {
  const [state, setState] = useState(store.get());
  useEffect(() => store.subscribe(setState), [store]);
  return state;
}

import { useCallback, useEffect, useState } from "react";

export type Loaded<T> =
  | { state: "loading" }
  | { state: "ready"; data: T }
  | { state: "failed"; error: unknown };

/** Runs `load` when its inputs change; `reload` runs it again. A stale answer never lands. */
export function useLoad<T>(load: () => Promise<T>, inputs: unknown[]): [Loaded<T>, () => void] {
  const [result, setResult] = useState<Loaded<T>>({ state: "loading" });
  const [round, setRound] = useState(0);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const run = useCallback(load, inputs);
  useEffect(() => {
    let live = true;
    setResult({ state: "loading" });
    run().then(
      (data) => live && setResult({ state: "ready", data }),
      (error: unknown) => live && setResult({ state: "failed", error }),
    );
    return () => {
      live = false;
    };
  }, [run, round]);
  return [result, () => setRound((n) => n + 1)];
}

import { useCallback, useEffect, useRef, useState } from "react";

export interface Page<T> {
  items: T[];
  next_cursor?: string | null;
}

/** A list read a page at a time: the first page when `inputs` change, then "load more" with the
 *  cursor the API gave. `extra` is whatever else the first page carries (e.g. the section counts). */
export function usePaged<P extends Page<unknown>>(load: (cursor: string | null) => Promise<P>, inputs: unknown[]) {
  type Item = P["items"][number];
  const [items, setItems] = useState<Item[]>([]);
  const [first, setFirst] = useState<P | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [state, setState] = useState<"loading" | "ready" | "more">("loading");
  const [error, setError] = useState<unknown>(null);
  const [round, setRound] = useState(0);
  const generation = useRef(0); // a page answered for an earlier query is not appended to this one
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const fetchPage = useCallback(load, inputs);

  useEffect(() => {
    let live = true;
    generation.current += 1;
    setState("loading");
    setError(null);
    fetchPage(null).then(
      (page) => {
        if (!live) return;
        setFirst(page);
        setItems(page.items);
        setCursor(page.next_cursor ?? null);
        setState("ready");
      },
      (failure: unknown) => {
        if (!live) return;
        setError(failure);
        setState("ready");
        setItems([]);
        setFirst(null);
      },
    );
    return () => {
      live = false;
    };
  }, [fetchPage, round]);

  async function more() {
    if (!cursor) return;
    const asked = generation.current;
    setState("more");
    setError(null);
    try {
      const page = await fetchPage(cursor);
      if (asked !== generation.current) return;
      setItems((done) => [...done, ...page.items]);
      setCursor(page.next_cursor ?? null);
    } catch (failure) {
      setError(failure);
    } finally {
      setState("ready");
    }
  }

  return {
    items,
    first,
    loading: state === "loading",
    busy: state === "more",
    error,
    hasMore: Boolean(cursor),
    more,
    reload: () => setRound((n) => n + 1),
  };
}

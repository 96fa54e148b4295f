// One tab list for every screen (the customers' sections, the client file's parts): the selected tab
// is the only one in the Tab order, the arrow keys (and Home / End) move between tabs and select.
import type { ReactNode } from "react";

export function Tabs<T extends string>({
  label,
  idPrefix,
  tabs,
  selected,
  onSelect,
  panelId,
  name,
}: {
  label: string;
  idPrefix: string;
  tabs: readonly T[];
  selected: T;
  onSelect(tab: T): void;
  panelId: string;
  name(tab: T): ReactNode;
}) {
  const move = (from: T, key: string) => {
    const at = tabs.indexOf(from);
    const to =
      key === "ArrowRight" ? (at + 1) % tabs.length
      : key === "ArrowLeft" ? (at - 1 + tabs.length) % tabs.length
      : key === "Home" ? 0
      : key === "End" ? tabs.length - 1
      : -1;
    if (to < 0) return false;
    const next = tabs[to] as T;
    onSelect(next);
    document.getElementById(`${idPrefix}-${next}`)?.focus();
    return true;
  };
  return (
    <div role="tablist" aria-label={label} className="tabs">
      {tabs.map((tab) => (
        <button
          key={tab}
          type="button"
          role="tab"
          id={`${idPrefix}-${tab}`}
          aria-selected={selected === tab}
          aria-controls={panelId}
          tabIndex={selected === tab ? 0 : -1}
          onClick={() => onSelect(tab)}
          onKeyDown={(event) => {
            if (move(tab, event.key)) event.preventDefault();
          }}
        >
          {name(tab)}
        </button>
      ))}
    </div>
  );
}

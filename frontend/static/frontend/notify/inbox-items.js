/** The inbox widget's reading of /api/notify/inbox/ (no DOM, no socket: unit-tested under node). */

/** The notices to show: unacknowledged ones only, in the server's order (newest first). */
export function unacknowledged(inbox) {
  return (inbox?.items ?? []).filter((item) => !item.acknowledged);
}

/** Ids present now and not before: what just arrived (the widget opens for them). */
export function arrived(before, now) {
  const seen = new Set(before.map((item) => item.id));
  return now.filter((item) => !seen.has(item.id)).map((item) => item.id);
}

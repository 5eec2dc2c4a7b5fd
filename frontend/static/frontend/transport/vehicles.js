/**
 * The key-vehicle list's state, without the DOM: the REST list gives each vehicle's supervision fields (category,
 * carrier, cargo…); the live feed then moves them. A position update keeps those fields and replaces what moves.
 */

/** The vehicles by id after `updates` (live positions) are applied; vehicles not in the list are ignored. */
export function applyPositions(vehicles, updates) {
  const next = new Map(vehicles);
  for (const update of updates) {
    const known = next.get(update.id);
    if (!known) continue;
    next.set(update.id, {...known, geometry: update.geometry, properties: {...known.properties, ...update.properties}});
  }
  return next;
}

/** Dangerous goods first, then by plate: the order of the console's table. */
export function vehicleOrder(a, b) {
  const rank = (f) => (f.properties.category === "dangerous_goods" ? 0 : 1);
  return rank(a) - rank(b) || a.properties.plate.localeCompare(b.properties.plate);
}

/** The cargo cell: "汽油 UN1203", or "—". */
export function cargoText(properties) {
  return [properties.cargo, properties.un_number].filter(Boolean).join(" ") || "—";
}

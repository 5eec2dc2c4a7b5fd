/** Geometry the consoles compute themselves (no map library: pure functions, tested under node). */

export const emptyCollection = () => ({type: "FeatureCollection", features: []});
export const collection = (features) => ({type: "FeatureCollection", features});

/**
 * A style's GeoJSON sources, each empty until the page fills it with setData; those named in `keyedByCode` key
 * their features (feature state, hover) on the `code` property.
 */
export function emptySources(names, keyedByCode = []) {
  return Object.fromEntries(
    names.map((name) => [name, {type: "geojson", data: emptyCollection(), ...(keyedByCode.includes(name) && {promoteId: "code"})}]),
  );
}

/** [minX, minY, maxX, maxY] over every coordinate of the features' geometries; null when there is none. */
export function extentOf(features) {
  const box = [Infinity, Infinity, -Infinity, -Infinity];
  const visit = (coords) => {
    if (typeof coords[0] === "number") {
      box[0] = Math.min(box[0], coords[0]);
      box[1] = Math.min(box[1], coords[1]);
      box[2] = Math.max(box[2], coords[0]);
      box[3] = Math.max(box[3], coords[1]);
    } else coords.forEach(visit);
  };
  for (const feature of features) if (feature.geometry) visit(feature.geometry.coordinates);
  return Number.isFinite(box[0]) ? box : null;
}

/** The map's bounds as the API's `bbox` parameter. */
export function bboxParam(bounds) {
  return [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()].map((v) => v.toFixed(6)).join(",");
}

function polygonsOf(geometry) {
  return geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
}

function ringArea(ring) {
  let sum = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    sum += (ring[j][0] - ring[i][0]) * (ring[j][1] + ring[i][1]);
  }
  return Math.abs(sum / 2);
}

/** Even-odd test over all rings, so holes count as outside. */
function inside(polygon, x, y) {
  let result = false;
  for (const ring of polygon) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i];
      const [xj, yj] = ring[j];
      if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) result = !result;
    }
  }
  return result;
}

/** Squared distance to the nearest edge, x scaled by cos(latitude) so that it is roughly metric. */
function edgeDistance(polygon, x, y, kx) {
  let best = Infinity;
  for (const ring of polygon) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const ax = ring[j][0] * kx;
      const ay = ring[j][1];
      const dx = ring[i][0] * kx - ax;
      const dy = ring[i][1] - ay;
      const len = dx * dx + dy * dy;
      const t = len ? Math.max(0, Math.min(1, ((x * kx - ax) * dx + (y - ay) * dy) / len)) : 0;
      const ex = ax + t * dx - x * kx;
      const ey = ay + t * dy - y;
      best = Math.min(best, ex * ex + ey * ey);
    }
  }
  return best;
}

/**
 * A point well inside the largest part of an area, where its name reads best. A centroid can fall
 * outside a concave district, and MapLibre's own polygon labels repeat on every tile.
 */
export function labelPoint(geometry) {
  const polygon = polygonsOf(geometry).reduce((a, b) => (ringArea(b[0]) > ringArea(a[0]) ? b : a));
  const [minX, minY, maxX, maxY] = extentOf([{geometry: {type: "Polygon", coordinates: polygon}}]);
  const kx = Math.cos((((minY + maxY) / 2) * Math.PI) / 180);
  let best = [(minX + maxX) / 2, (minY + maxY) / 2];
  let bestDistance = -1;
  let [x0, y0, w, h] = [minX, minY, maxX - minX, maxY - minY];
  for (const steps of [24, 10]) {
    for (let i = 0; i <= steps; i++) {
      for (let j = 0; j <= steps; j++) {
        const x = x0 + (w * i) / steps;
        const y = y0 + (h * j) / steps;
        if (!inside(polygon, x, y)) continue;
        const distance = edgeDistance(polygon, x, y, kx);
        if (distance > bestDistance) [best, bestDistance] = [[x, y], distance];
      }
    }
    // Refine around the best sample of the coarse grid.
    [x0, y0, w, h] = [best[0] - w / steps, best[1] - h / steps, (2 * w) / steps, (2 * h) / steps];
  }
  return best;
}

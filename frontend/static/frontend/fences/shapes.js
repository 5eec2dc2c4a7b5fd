/**
 * The geometry the fence editor draws while an operator is still drawing (no map library: pure functions, tested
 * under node). The server derives the area the rules test itself (a metric buffer of the circle's centre or the
 * corridor's line, fences/services.py fence_area); these previews show the operator that area before saving.
 *
 * Distances are metres on a local tangent plane around the shape (equirectangular): exact enough for a fence of a
 * few kilometres, which is what a city draws.
 */

const EARTH_RADIUS_M = 6371008.8;
const RAD = Math.PI / 180;
const ARC_STEPS = 64; // segments of a full circle in a preview

/** Converters between [lon, lat] and metres east/north of `origin`. */
export function localFrame([lon0, lat0]) {
  const ky = EARTH_RADIUS_M * RAD;
  const kx = ky * Math.cos(lat0 * RAD);
  return {
    toMetres: ([lon, lat]) => [(lon - lon0) * kx, (lat - lat0) * ky],
    toLonLat: ([x, y]) => [lon0 + x / kx, lat0 + y / ky],
  };
}

/** Great-circle distance in metres (haversine): the radius the operator drags out. */
export function distanceMetres([lon1, lat1], [lon2, lat2]) {
  const h = Math.sin(((lat2 - lat1) * RAD) / 2) ** 2 + Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * Math.sin(((lon2 - lon1) * RAD) / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** The clicked vertices as a GeoJSON Polygon (its ring closed). */
export function polygonOf(vertices) {
  return {type: "Polygon", coordinates: [[...vertices, vertices[0]]]};
}

/** A circle of `radiusM` metres around `centre` as a GeoJSON Polygon. */
export function circlePolygon(centre, radiusM) {
  const frame = localFrame(centre);
  return {type: "Polygon", coordinates: [closed(arc([0, 0], 0, 2 * Math.PI, radiusM, ARC_STEPS).map(frame.toLonLat))]};
}

/**
 * Everything within `halfWidthM` metres of the route `line` ([lon, lat] points) as a GeoJSON Polygon: each side
 * offset by the half-width, rounded on the outside of every bend and at both ends, mitred on the inside.
 */
export function corridorPolygon(line, halfWidthM) {
  const frame = localFrame(line[0]);
  const points = withoutRepeats(line.map(frame.toMetres));
  if (points.length < 2) return circlePolygon(line[0], halfWidthM);
  const left = offsetSide(points, halfWidthM);
  const right = offsetSide([...points].reverse(), halfWidthM);
  const cap = (end, before) => {
    const [nx, ny] = normal(before, end);
    return arc(end, Math.atan2(ny, nx), -Math.PI, halfWidthM, ARC_STEPS / 2).slice(1, -1);
  };
  const n = points.length;
  const ring = [...left, ...cap(points[n - 1], points[n - 2]), ...right, ...cap(points[0], points[1])];
  return {type: "Polygon", coordinates: [closed(ring.map(frame.toLonLat))]};
}

/** Area in square metres of a GeoJSON Polygon or MultiPolygon (holes subtracted). */
export function areaSquareMetres(geometry) {
  const polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
  const frame = localFrame(polygons[0][0][0]);
  const ringArea = (ring) => {
    const xy = ring.map(frame.toMetres);
    let sum = 0;
    for (let i = 0, j = xy.length - 1; i < xy.length; j = i++) sum += (xy[j][0] - xy[i][0]) * (xy[j][1] + xy[i][1]);
    return Math.abs(sum / 2);
  };
  return polygons.reduce((total, [outer, ...holes]) => total + ringArea(outer) - holes.reduce((s, h) => s + ringArea(h), 0), 0);
}

// --- plane geometry in metres ---

function closed(ring) {
  return [...ring, ring[0]];
}

function withoutRepeats(points) {
  return points.filter((p, i) => i === 0 || Math.hypot(p[0] - points[i - 1][0], p[1] - points[i - 1][1]) > 1e-6);
}

/** The unit normal to the left of the direction a → b. */
function normal(a, b) {
  const length = Math.hypot(b[0] - a[0], b[1] - a[1]);
  return [-(b[1] - a[1]) / length, (b[0] - a[0]) / length];
}

/** `steps + 1` points on a circle arc around `centre`, from angle `start` turning by `sweep` (radians). */
function arc(centre, start, sweep, radius, steps) {
  const count = Math.max(1, Math.ceil((steps * Math.abs(sweep)) / (2 * Math.PI)));
  return Array.from({length: count + 1}, (_, i) => {
    const angle = start + (sweep * i) / count;
    return [centre[0] + radius * Math.cos(angle), centre[1] + radius * Math.sin(angle)];
  });
}

/** The left side of the polyline offset by `w`: an arc around each bend it is outside of, a mitre inside. */
function offsetSide(points, w) {
  const side = [];
  const normals = points.slice(1).map((p, i) => normal(points[i], p));
  const shifted = (p, [nx, ny]) => [p[0] + w * nx, p[1] + w * ny];
  side.push(shifted(points[0], normals[0]));
  for (let i = 1; i < points.length - 1; i++) {
    const [a, b] = [normals[i - 1], normals[i]];
    const cross = a[0] * b[1] - a[1] * b[0];
    const dot = a[0] * b[0] + a[1] * b[1];
    if (cross < 0) {
      // turning right: this side is the outside of the bend
      side.push(...arc(points[i], Math.atan2(a[1], a[0]), -Math.acos(Math.max(-1, Math.min(1, dot))), w, ARC_STEPS));
    } else if (1 + dot > 0.05) {
      side.push(shifted(points[i], [(a[0] + b[0]) / (1 + dot), (a[1] + b[1]) / (1 + dot)]));
    } else {
      // turning back on itself: no mitre point exists, keep both offsets
      side.push(shifted(points[i], a), shifted(points[i], b));
    }
  }
  side.push(shifted(points[points.length - 1], normals[normals.length - 1]));
  return side;
}

/**
 * The replay's pure logic (no map, no DOM; tested under node): where a vehicle was at a moment, by linear
 * interpolation between its stored fixes, and the playback clock that moves that moment on at 1×, 10×, 60×…
 *
 * A track is the API's list of fixes `[epochMs, lon, lat, speedKmh, heading]` in time order.
 */

/** Index of the last fix at or before `t` (-1: before the first). Binary search: tracks have tens of thousands. */
export function fixIndexAt(points, t) {
  let low = 0;
  let high = points.length - 1;
  if (high < 0 || t < points[0][0]) return -1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if (points[middle][0] <= t) low = middle;
    else high = middle - 1;
  }
  return low;
}

/** Heading from fix a to fix b in degrees clockwise from north (local flat approximation). */
function bearing(a, b) {
  const dx = (b[1] - a[1]) * Math.cos((((a[2] + b[2]) / 2) * Math.PI) / 180);
  const dy = b[2] - a[2];
  if (dx === 0 && dy === 0) return a[4];
  return ((Math.atan2(dx, dy) * 180) / Math.PI + 360) % 360;
}

/**
 * The vehicle at time `t` (ms): `{lon, lat, speed, heading, index}` between the fixes around it; at the first
 * fix before the track starts and at the last after it ends; null for an empty track.
 */
export function positionAt(points, t) {
  if (!points.length) return null;
  const i = fixIndexAt(points, t);
  if (i < 0) return at(points[0], 0, points[0][4]);
  if (i === points.length - 1) return at(points[i], i, points[i][4]);
  const a = points[i];
  const b = points[i + 1];
  const f = b[0] === a[0] ? 0 : (t - a[0]) / (b[0] - a[0]);
  return {
    lon: a[1] + (b[1] - a[1]) * f,
    lat: a[2] + (b[2] - a[2]) * f,
    speed: a[3] + (b[3] - a[3]) * f,
    heading: bearing(a, b),
    index: i,
  };
}

function at(fix, index, heading) {
  return {lon: fix[1], lat: fix[2], speed: fix[3], heading, index};
}

/** The coordinates of the track up to time `t` (the part already driven), ending at the interpolated position. */
export function drivenPart(points, t) {
  const i = fixIndexAt(points, t);
  if (i < 0) return [];
  const now = positionAt(points, t);
  return [...points.slice(0, i + 1).map((p) => [p[1], p[2]]), [now.lon, now.lat]];
}

/**
 * The playback clock over [start, end] (ms): `advance(realMs)` moves it on `speed` times real time and stops at
 * the end; `seek` jumps (clamped). `playing` is false once the end is reached.
 */
export class PlaybackClock {
  constructor(start, end, speed = 1) {
    this.start = start;
    this.end = end;
    this.speed = speed;
    this.time = start;
    this.playing = false;
  }

  seek(t) {
    this.time = Math.min(this.end, Math.max(this.start, t));
    return this.time;
  }

  /** Fraction of the range played, 0…1 (the slider's position). */
  get fraction() {
    return this.end > this.start ? (this.time - this.start) / (this.end - this.start) : 0;
  }

  advance(realMs) {
    if (!this.playing) return this.time;
    this.seek(this.time + realMs * this.speed);
    if (this.time >= this.end) this.playing = false;
    return this.time;
  }
}

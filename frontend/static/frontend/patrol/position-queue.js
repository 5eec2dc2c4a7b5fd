/**
 * The tablet's patrol track: GPS fixes kept in localStorage (so a reload or a dead zone loses none) and sent in
 * batches to POST /api/patrol/positions/, removed only once the server has answered. The fixes are thinned to one
 * per `everyMs` (attendance counts a tablet silent after 5 minutes; 30 s is ample), and at most `keep` wait
 * (a day at 30 s): beyond that the oldest go, a track of last week helps nobody on patrol today. A batch the
 * server refuses (4xx: e.g. a fix older than it keeps) is dropped, or it would block every later one; a network
 * failure or 5xx keeps it for the next flush.
 */

export const BATCH = 500; // the server's limit (patrol/services.py BATCH_LIMIT)

export class PositionQueue {
  constructor({storage, key, send, everyMs = 30_000, keep = 2880}) {
    Object.assign(this, {storage, key, send, everyMs, keep});
    this.sending = false;
  }

  fixes() {
    try {
      return JSON.parse(this.storage.getItem(this.key)) ?? [];
    } catch {
      return [];
    }
  }

  _save(fixes) {
    this.storage.setItem(this.key, JSON.stringify(fixes.slice(-this.keep)));
  }

  /** Queue a fix {at (ms), lon, lat, accuracy, crs} unless the last one is less than `everyMs` older. */
  add(fix) {
    const fixes = this.fixes();
    const last = fixes.at(-1);
    if (last && fix.at - last.at < this.everyMs) return false;
    this._save([...fixes, fix]);
    return true;
  }

  /** Send what waits, a batch at a time. */
  async flush() {
    if (this.sending) return;
    this.sending = true;
    try {
      for (let batch = this.fixes().slice(0, BATCH); batch.length; batch = this.fixes().slice(0, BATCH)) {
        try {
          await this.send(batch.map((f) => ({at: new Date(f.at).toISOString(), lon: f.lon, lat: f.lat, accuracy: f.accuracy, crs: f.crs})));
        } catch (error) {
          if (!(error.status >= 400 && error.status < 500)) throw error;
          console.warn("patrol positions refused", error.message);
        }
        const sent = new Set(batch.map((f) => f.at));
        this._save(this.fixes().filter((f) => !sent.has(f.at)));
      }
    } finally {
      this.sending = false;
    }
  }
}

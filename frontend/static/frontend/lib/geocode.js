/**
 * The city's address geocoder (gis/geocoder.py) for the consoles that locate a caller's problem: the dispatch
 * console and the case centre's hotline intake.
 */
import {api} from "./api.js";

/** Addresses (and, for a road without a number, the road's centre) ranked by the geocoder, which takes typos,
 * Chinese numerals and full-width digits as a caller says them: [{label, score (0–1), point: [lon, lat]}]. */
export async function searchAddresses(text, limit = 8) {
  const params = new URLSearchParams({q: text.slice(0, 100), limit});
  const {candidates} = await api(`/api/gis/geocode/?${params}`);
  return candidates.map((c) => ({label: c.label, score: c.score, point: c.point.coordinates}));
}

/** The address nearest a WGS84 point and its distance in metres, and the unit grid there (gis reverse). */
export function reverseGeocode([lon, lat]) {
  return api(`/api/gis/reverse/?${new URLSearchParams({lon, lat})}`);
}

/**
 * The city's address geocoder (gis/geocoder.py) for the consoles that locate a caller's problem: the dispatch
 * console and the case centre's hotline intake.
 */
import {ApiError, api} from "./api.js";

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

/** Search as the user types into `input`: 250 ms after the last key, `show(candidates)` with the geocoder's answer
 * (none for a refused query), unless the text changed meanwhile; `clear()` when the field is emptied. */
export function searchAsTyped(input, {show, clear}) {
  let timer = null;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    const text = input.value.trim();
    if (!text) {
      clear();
      return;
    }
    timer = setTimeout(async () => {
      let found = [];
      try {
        found = await searchAddresses(text);
      } catch (error) {
        if (!(error instanceof ApiError)) throw error; // a refused query finds nothing
      }
      if (input.value.trim() === text) show(found); // not when the user typed on meanwhile
    }, 250);
  });
}

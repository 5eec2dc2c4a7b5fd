/**
 * What a field form shows as the address of a position, from the reverse geocoder's answer (lib/geocode.js
 * reverseGeocode): pure rules, so that every form words a position the same way.
 */

// Nearer than AT_ADDRESS_M the point is at the address itself; up to NEAR_ADDRESS_M the text says "near" it;
// farther, the nearest door names no place an inspector would recognise, and the area the point lies in does.
export const AT_ADDRESS_M = 30;
export const NEAR_ADDRESS_M = 200;

/**
 * The address text for a reverse-geocoded point: the nearest address's label, "near" it (`nearTemplate`, with
 * {address}) beyond AT_ADDRESS_M, the sub-district and community the point lies in beyond NEAR_ADDRESS_M;
 * "" when the answer names nothing (outside the city, an empty address layer).
 */
export function addressText(answer, nearTemplate) {
  if (!answer) return "";
  const label = answer.address?.label;
  const distance = answer.distance_m ?? Infinity;
  if (label && distance <= AT_ADDRESS_M) return label;
  if (label && distance <= NEAR_ADDRESS_M) return nearTemplate.replace("{address}", label);
  return [answer.street?.name, answer.community?.name].filter(Boolean).join("");
}

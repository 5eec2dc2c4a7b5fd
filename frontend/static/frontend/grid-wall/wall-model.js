/**
 * The city-management wall's figures from the open cases it holds (grid-ui.js upsertCase keeps them): counts by
 * stage and by timer colour. Pure, so `node --test` checks it (frontend/tests/grid-wall-model.test.js).
 */

/** {stages: {stage: n}, timers: {green, yellow, red}} over the open cases. */
export function tally(features) {
  const stages = {};
  const timers = {green: 0, yellow: 0, red: 0};
  for (const feature of features) {
    const {stage, timer_state: timer} = feature.properties;
    stages[stage] = (stages[stage] ?? 0) + 1;
    if (timer in timers) timers[timer] += 1;
  }
  return {stages, timers};
}

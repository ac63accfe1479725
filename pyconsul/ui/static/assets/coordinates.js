// Network coordinates (Vivaldi, as Consul's serf/coordinate computes them):
// the estimated round-trip time between two nodes.

/** Seconds between two coordinates ({Vec, Error, Adjustment, Height}). */
export function distance(a, b) {
  if (!a || !b || !a.Vec || !b.Vec || a.Vec.length !== b.Vec.length) return null;
  let sum = 0;
  for (let i = 0; i < a.Vec.length; i++) {
    const d = a.Vec[i] - b.Vec[i];
    sum += d * d;
  }
  const raw = Math.sqrt(sum) + a.Height + b.Height;
  const adjusted = raw + a.Adjustment + b.Adjustment;
  return adjusted > 0 ? adjusted : raw;
}

export function formatSeconds(seconds) {
  const ms = seconds * 1000;
  return ms < 10 ? `${ms.toFixed(2)} ms` : `${ms.toFixed(1)} ms`;
}

/** min / median / max from one node to every other node with a coordinate. */
export function spread(coords, node) {
  const mine = coords.find((c) => c.Node === node);
  if (!mine) return null;
  const times = coords.filter((c) => c.Node !== node)
    .map((c) => distance(mine.Coord, c.Coord)).filter((d) => d !== null).sort((x, y) => x - y);
  if (times.length === 0) return null;
  const middle = Math.floor(times.length / 2);
  const median = times.length % 2 ? times[middle] : (times[middle - 1] + times[middle]) / 2;
  return {min: times[0], median, max: times[times.length - 1], count: times.length};
}

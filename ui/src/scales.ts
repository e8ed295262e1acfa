/** A chart's scales and markers: DOM-free, unit-tested (scales.spec.ts). */

/**
 * The time axis' span: the data's and 3% more at each end, or a point drawn on the edge (the last
 * look, a decision) shows half. uPlot's own span for a single point is a thousand days (a day in its
 * milliseconds, read as seconds): two minutes around it instead.
 */
export function timeRange(times: ArrayLike<number>): [number, number] {
  const first = times[0];
  const last = times[times.length - 1];
  if (first === undefined || last === undefined) return [0, 1];
  const margin = first === last ? 60 : (last - first) * 0.03;
  return [first - margin, last + margin];
}

/**
 * The values with no neighbour to draw a line to (a gap or the end on both sides): a line through
 * them is a single point, which draws nothing, so they get a marker. null when there is none.
 */
export function lonePoints(values: ArrayLike<number | null | undefined>): number[] | null {
  const present = (index: number) => values[index] !== null && values[index] !== undefined;
  const lone: number[] = [];
  for (let index = 0; index < values.length; index++)
    if (present(index) && !present(index - 1) && !present(index + 1)) lone.push(index);
  return lone.length ? lone : null;
}

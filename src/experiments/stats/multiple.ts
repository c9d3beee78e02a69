/**
 * Several treatment arms against one control make several comparisons. p-values are adjusted with Holm's step-down
 * method (controls the family-wise error rate at α, uniformly more powerful than Bonferroni); intervals are widened
 * to Bonferroni's level α / m so that all m of them hold together (Holm has no matching intervals).
 */
export function holmAdjust(pValues: number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0]);
  const adjusted = new Array<number>(m);
  let running = 0;
  order.forEach(([p, i], rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    adjusted[i] = running;
  });
  return adjusted;
}

export const bonferroniAlpha = (alpha: number, comparisons: number) => alpha / Math.max(1, comparisons);

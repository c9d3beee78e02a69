/** A small SVG curve over labelled points (retention by period): values from 0 to `max`, gaps for nulls. */
export function CurveChart(props: { title: string; points: { label: string; value: number | null }[]; max?: number; format?: (v: number) => string }) {
  const format = props.format ?? ((v: number) => String(v));
  const w = 640;
  const h = 160;
  const left = 36;
  const values = props.points.map((p) => p.value).filter((v): v is number => v !== null);
  const max = props.max ?? Math.max(1, ...values);
  const n = Math.max(1, props.points.length - 1);
  const x = (i: number) => left + (i / n) * (w - left - 32);
  const y = (v: number) => h - (v / max) * (h - 16);
  // One polyline per run of known values, so an unknown period is a gap rather than a drop to zero.
  const runs: string[][] = [];
  props.points.forEach((p, i) => {
    if (p.value === null) return void runs.push([]);
    if (runs.length === 0) runs.push([]);
    runs[runs.length - 1].push(`${x(i)},${y(p.value)}`);
  });
  const described = props.points.map((p) => `${p.label} ${p.value === null ? 'no data' : format(p.value)}`).join(', ');
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${w} ${h + 20}`} role="img" aria-label={`${props.title}: ${described}`}>
        <line x1={left} y1={h} x2={w} y2={h} stroke="#cbd5e1" />
        <text x={0} y={12} fontSize={11} fill="#64748b">
          {format(max)}
        </text>
        <text x={0} y={h} fontSize={11} fill="#64748b">
          {format(0)}
        </text>
        {runs.filter((r) => r.length > 0).map((r, i) => (
          <polyline key={i} fill="none" stroke="#2563eb" strokeWidth={2} points={r.join(' ')} />
        ))}
        {props.points.map((p, i) =>
          p.value === null ? null : <circle key={`c${i}`} cx={x(i)} cy={y(p.value)} r={3} fill="#2563eb" />,
        )}
        {props.points.map((p, i) => (
          <text key={`l${i}`} x={x(i)} y={h + 16} fontSize={11} fill="#64748b" textAnchor="middle">
            {p.label}
          </text>
        ))}
      </svg>
      <figcaption>
        {props.title}: {described || 'no data'}
      </figcaption>
    </figure>
  );
}

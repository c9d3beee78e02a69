/** A small SVG line chart: one or more series over shared timestamps, with an accessible table fallback. */
export function LineChart(props: { title: string; timestamps: string[]; series: { label: string; values: (number | null)[] }[] }) {
  const w = 640;
  const h = 160;
  const all = props.series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const max = Math.max(1, ...all);
  const n = Math.max(1, props.timestamps.length - 1);
  const colours = ['#2563eb', '#16a34a', '#dc2626', '#9333ea', '#ea580c'];
  const total = all.reduce((a, b) => a + b, 0);
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${w} ${h + 20}`} role="img" aria-label={`${props.title}: total ${total}, peak ${Math.max(0, ...all)}`}>
        <line x1={0} y1={h} x2={w} y2={h} stroke="#cbd5e1" />
        <text x={4} y={12} fontSize={11} fill="#64748b">
          {max}
        </text>
        {props.series.map((s, i) => (
          <polyline
            key={s.label}
            fill="none"
            stroke={colours[i % colours.length]}
            strokeWidth={2}
            points={s.values.map((v, j) => `${(j / n) * w},${h - ((v ?? 0) / max) * (h - 16)}`).join(' ')}
          />
        ))}
        {props.timestamps.length > 0 ? (
          <>
            <text x={0} y={h + 16} fontSize={11} fill="#64748b">
              {new Date(props.timestamps[0]).toLocaleString()}
            </text>
            <text x={w} y={h + 16} fontSize={11} fill="#64748b" textAnchor="end">
              {new Date(props.timestamps[props.timestamps.length - 1]).toLocaleString()}
            </text>
          </>
        ) : null}
      </svg>
      <figcaption>
        {props.title}: {props.series.map((s) => `${s.label} ${s.values.reduce<number>((a, b) => a + (b ?? 0), 0)}`).join(', ') || 'no data in this range'}
      </figcaption>
    </figure>
  );
}

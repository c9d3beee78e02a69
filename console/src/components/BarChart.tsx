/** A small horizontal SVG bar chart with its numbers written beside the bars (readable without the picture). */
export interface Bar {
  label: string;
  value: number;
  /** Shown after the value, e.g. "50% of entries". */
  note?: string;
}

export function BarChart(props: { title: string; bars: Bar[]; format?: (v: number) => string }) {
  const format = props.format ?? ((v: number) => String(v));
  const row = 26;
  const labelWidth = 180;
  const w = 640;
  const barSpace = w - labelWidth - 150;
  const max = Math.max(0, ...props.bars.map((b) => b.value));
  const h = Math.max(1, props.bars.length) * row + 4;
  const colours = ['#2563eb', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#dc2626'];
  const clip = (s: string) => (s.length > 26 ? `${s.slice(0, 25)}…` : s);
  const text = (b: Bar) => `${format(b.value)}${b.note ? ` (${b.note})` : ''}`;
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${w} ${h}`} role="img" aria-label={`${props.title}: ${props.bars.map((b) => `${b.label} ${text(b)}`).join('; ') || 'no data'}`}>
        {props.bars.map((b, i) => {
          const y = i * row + 2;
          const width = max > 0 ? Math.max(1, (b.value / max) * barSpace) : 1;
          return (
            <g key={`${b.label}-${i}`}>
              <text x={labelWidth - 6} y={y + 16} fontSize={12} textAnchor="end" fill="#334155">
                {clip(b.label)}
              </text>
              <rect x={labelWidth} y={y + 3} width={width} height={row - 8} fill={colours[i % colours.length]} rx={2} />
              <text x={labelWidth + width + 6} y={y + 16} fontSize={12} fill="#0f172a">
                {text(b)}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption>
        {props.title}: {props.bars.map((b) => `${b.label} ${text(b)}`).join(', ') || 'no data'}
      </figcaption>
    </figure>
  );
}

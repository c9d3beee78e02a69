interface Graph { nodes: { id: string; type: string; value: string }[]; edges: { from: string; to: string; merged: boolean }[] }

/** The identity graph drawn as a circle of identifiers with their links; merges drawn dashed. */
export function IdentityGraph({ graph }: { graph: Graph }) {
  const size = 360;
  const r = graph.nodes.length > 1 ? 130 : 0;
  const at = new Map(graph.nodes.map((n, i) => [n.id, { x: size / 2 + r * Math.cos((2 * Math.PI * i) / graph.nodes.length - Math.PI / 2), y: size / 2 + r * Math.sin((2 * Math.PI * i) / graph.nodes.length - Math.PI / 2) }]));
  return (
    <figure>
      <svg viewBox={`0 0 ${size} ${size}`} width={size} height={size} role="img" aria-label={`Identity graph: ${graph.nodes.length} identifiers, ${graph.edges.length} links`}>
        {graph.edges.map((e, i) => {
          const a = at.get(e.from);
          const b = at.get(e.to);
          return a && b ? <line key={i} x1={a.x} y1={a.y} x2={b.x} y2={b.y} stroke={e.merged ? '#dc2626' : '#64748b'} strokeDasharray={e.merged ? '5 4' : undefined} strokeWidth={2} /> : null;
        })}
        {graph.nodes.map((n) => {
          const p = at.get(n.id)!;
          return (
            <g key={n.id}>
              <circle cx={p.x} cy={p.y} r={8} fill="#2563eb" />
              <text x={p.x} y={p.y + 22} fontSize={10} textAnchor="middle">
                {n.type}: {n.value.length > 24 ? `${n.value.slice(0, 23)}…` : n.value}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption>Identifiers linked by the events that carried them together; dashed red links merged two profiles.</figcaption>
    </figure>
  );
}

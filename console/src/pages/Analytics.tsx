import { useState } from 'react';
import { TextField } from '../components/common';
import { Attribution, Campaigns } from './analytics/Attribution';
import { Funnel } from './analytics/Funnel';
import { Paths } from './analytics/Paths';
import { Retention } from './analytics/Retention';

/** Funnels, retention, paths, attribution and campaign performance over one shared range (docs/analytics.md). */
export function Analytics() {
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const range = { from: from.trim(), to: to.trim() };
  return (
    <>
      <h1>Analytics</h1>
      <div className="row">
        <TextField label="From (empty: 30 days ago)" value={from} onChange={setFrom} placeholder="2026-03-01" />
        <TextField label="To (empty: now)" value={to} onChange={setTo} placeholder="2026-04-01" />
      </div>
      <Funnel range={range} />
      <Retention range={range} />
      <Paths range={range} />
      <Attribution range={range} />
      <Campaigns range={range} />
    </>
  );
}

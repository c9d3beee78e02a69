import { api } from '../../api';
import { ErrorText, Section, useLoad, when } from '../../components/common';
import { DefinitionChooser, type DefinitionPageSpec, type Loaded } from '../forms/DefinitionPage';
import { blankDecision, DecisionForm, type DecisionPoint } from './DecisionForm';

export interface Decision { key: string; name?: string; offers?: { key: string }[] }

interface Group { decisions: number; rewarded: number; rate: number; meanReward: number; offers: Record<string, { decisions: number; rewarded: number; rate: number }> }
interface Results { policy: Group; holdout: Group; lift?: { estimate: number; low: number; high: number; pValue: number } }
interface LogRow { id: string; at: string; visitor: string; profileId: string | null; group: string; offer: string | null; policy: string; rewardedAt: string | null; ineligible?: Record<string, string> }

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

/** Rewards per group and offer and the lift over the holdout, then the latest decisions, as tables. */
function DecisionResults({ decision }: { decision: string }) {
  const results = useLoad(() => api<Results>(`/decisions/${encodeURIComponent(decision)}/results`), [decision]);
  const log = useLoad(() => api<{ data: LogRow[] }>(`/decisions/${encodeURIComponent(decision)}/log?limit=20`), [decision]);
  const r = results.data;
  const offers = r ? [...new Set([...Object.keys(r.policy.offers), ...Object.keys(r.holdout.offers)])] : [];
  return (
    <Section title={`Results of ${decision}`} actions={<button type="button" className="secondary" onClick={() => (results.reload(), log.reload())}>Refresh results</button>}>
      <ErrorText error={results.error ?? log.error} />
      {r ? (
        <>
          <p>{r.lift ? `Lift over the holdout: ${pct(r.lift.estimate)} [${pct(r.lift.low)}, ${pct(r.lift.high)}], p = ${r.lift.pValue.toFixed(3)}.` : 'No lift yet: both the policy and the holdout need decisions.'}</p>
          <table>
            <caption>Rewards per group</caption>
            <thead>
              <tr><th scope="col">Group</th><th scope="col">Decisions</th><th scope="col">Rewarded</th><th scope="col">Rate</th><th scope="col">Mean reward</th></tr>
            </thead>
            <tbody>
              {(['policy', 'holdout'] as const).map((g) => (
                <tr key={g}><th scope="row">{g}</th><td>{r[g].decisions}</td><td>{r[g].rewarded}</td><td>{pct(r[g].rate)}</td><td>{r[g].meanReward.toFixed(2)}</td></tr>
              ))}
            </tbody>
          </table>
          {offers.length ? (
            <table>
              <caption>Rewards per offer</caption>
              <thead>
                <tr><th scope="col">Offer</th><th scope="col">Policy decisions</th><th scope="col">Policy rate</th><th scope="col">Holdout decisions</th><th scope="col">Holdout rate</th></tr>
              </thead>
              <tbody>
                {offers.map((o) => (
                  <tr key={o}>
                    <th scope="row">{o}</th>
                    <td>{r.policy.offers[o]?.decisions ?? 0}</td><td>{r.policy.offers[o] ? pct(r.policy.offers[o].rate) : '–'}</td>
                    <td>{r.holdout.offers[o]?.decisions ?? 0}</td><td>{r.holdout.offers[o] ? pct(r.holdout.offers[o].rate) : '–'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </>
      ) : null}
      {log.data ? (
        log.data.data.length ? (
          <table>
            <caption>Recent decisions</caption>
            <thead>
              <tr><th scope="col">When</th><th scope="col">Visitor</th><th scope="col">Group</th><th scope="col">Offer</th><th scope="col">Rewarded</th><th scope="col">Not eligible</th></tr>
            </thead>
            <tbody>
              {log.data.data.map((d) => (
                <tr key={d.id}>
                  <td>{when(d.at)}</td><td>{d.visitor}</td><td>{d.group}</td><td>{d.offer ?? 'none'}</td><td>{d.rewardedAt ? when(d.rewardedAt) : 'no'}</td>
                  <td>{Object.entries(d.ineligible ?? {}).map(([o, why]) => `${o}: ${why}`).join('; ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p>No decision made yet.</p>
        )
      ) : null}
    </Section>
  );
}

const SPEC: DefinitionPageSpec<DecisionPoint> = {
  kind: 'decisions',
  title: 'Decision points',
  noun: 'decision point',
  blank: blankDecision,
  Form: DecisionForm,
  Extra: ({ item }) => <DecisionResults decision={item.key} />,
};

/** Decision points (kind `decisions`) as forms: offers, eligibility, ranking policy, caps, holdout, rewards. */
export function Decisions(props: { list: Loaded<Decision> }) {
  return (
    <Section title="Decision points">
      <DefinitionChooser spec={SPEC} list={props.list as Loaded<DecisionPoint>} chooseLabel="Decision point" />
    </Section>
  );
}

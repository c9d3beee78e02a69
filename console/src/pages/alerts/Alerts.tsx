import { api } from '../../api';
import { ErrorText, Section, useLoad, when } from '../../components/common';
import { Link } from '../../router';
import { DefinitionPage, type DefinitionPageSpec } from '../forms/DefinitionPage';
import { AlertForm, blankAlert, type AlertRule } from './AlertForm';

interface Incident { id: number; severity: string; summary: string; state: string; openedAt: string; acknowledgedAt: string | null }

/** The rule's recent incidents, each linked to the incidents page (runbook, timeline, acknowledge). */
function RuleIncidents({ rule }: { rule: string }) {
  const list = useLoad(() => api<{ data: Incident[] }>(`/incidents?rule=${encodeURIComponent(rule)}&limit=10`), [rule]);
  return (
    <Section title="Incidents of this rule" actions={<Link to="/incidents">All incidents</Link>}>
      <ErrorText error={list.error} />
      {list.data?.data.length ? (
        <table>
          <caption>Latest incidents of {rule}</caption>
          <thead>
            <tr><th scope="col">Incident</th><th scope="col">State</th><th scope="col">Severity</th><th scope="col">Opened</th><th scope="col">Summary</th></tr>
          </thead>
          <tbody>
            {list.data.data.map((i) => (
              <tr key={i.id}>
                <td><Link to={`/incidents?id=${i.id}`}>#{i.id}</Link></td>
                <td>{i.state}{i.acknowledgedAt ? ' (acknowledged)' : ''}</td>
                <td>{i.severity}</td>
                <td>{when(i.openedAt)}</td>
                <td>{i.summary}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : list.data ? (
        <p>No incident yet.</p>
      ) : null}
    </Section>
  );
}

const SPEC: DefinitionPageSpec<AlertRule> = {
  kind: 'alerts',
  title: 'Alert rules',
  noun: 'alert rule',
  intro: (
    <p>
      A threshold or an anomaly on a metric series, a signal or a monitor, routed to PagerDuty, Slack or a webhook (docs/operations.md). Firing rules open <Link to="/incidents">incidents</Link>.
    </p>
  ),
  blank: blankAlert,
  Form: AlertForm,
  Extra: ({ item }) => <RuleIncidents rule={item.key} />,
};

export function Alerts() {
  return <DefinitionPage spec={SPEC} />;
}

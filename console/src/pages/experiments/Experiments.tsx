import { DefinitionPage, type DefinitionPageSpec } from '../forms/DefinitionPage';
import { blankExperiment, ExperimentForm, type Experiment } from './ExperimentForm';
import { ExperimentResults } from './ExperimentResults';

const SPEC: DefinitionPageSpec<Experiment> = {
  kind: 'experiments',
  title: 'Experiments',
  noun: 'experiment',
  intro: <p>A/B tests: profiles split into arms by weight, measured on metrics read from the warehouse (docs/experiments.md).</p>,
  blank: blankExperiment,
  Form: ExperimentForm,
  Extra: ({ item }) => <ExperimentResults experiment={item.key} />,
};

export function Experiments() {
  return <DefinitionPage spec={SPEC} />;
}

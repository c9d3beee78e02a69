import { DefinitionPage, type DefinitionPageSpec } from '../forms/DefinitionPage';
import { blankModel, cleanModel, ModelForm, type Model } from './ModelForm';
import { ModelRuns } from './ModelRuns';

const SPEC: DefinitionPageSpec<Model> = {
  kind: 'models',
  title: 'Models',
  noun: 'model',
  intro: <p>Lifetime value, propensity and send-time models trained on the warehouse; each writes its per-profile values to a computed trait (docs/models.md).</p>,
  blank: blankModel,
  clean: cleanModel,
  Form: ModelForm,
  Extra: ({ item }) => <ModelRuns model={item.key} />,
};

export function Models() {
  return <DefinitionPage spec={SPEC} />;
}

import { api } from '../api';
import { useLoad } from '../components/common';
import { Decisions, type Decision } from './personalization/Decisions';
import { ExposureSettings } from './personalization/Exposure';
import { TryIt } from './personalization/TryIt';

/** Decision points, exposure settings and a live "try it" of POST /v1/personalize (docs/personalization.md). */
export function Personalization() {
  const decisions = useLoad(() => api<{ data: Decision[] }>('/decisions'), []);
  return (
    <>
      <h1>Personalization</h1>
      <TryIt decisions={(decisions.data?.data ?? []).map((d) => d.key)} />
      <ExposureSettings />
      <Decisions list={decisions} />
    </>
  );
}

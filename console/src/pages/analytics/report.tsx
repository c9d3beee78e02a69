import { useState } from 'react';
import { api, describe } from '../../api';
import { downloadCsv } from '../../components/csv-download';
import { ErrorText, Status } from '../../components/common';

/** The range every report shares: `from`/`to` as typed (ISO dates or instants); empty means the API's default (last 30 days). */
export interface Range {
  from: string;
  to: string;
}

export const withRange = (range: Range, body: Record<string, unknown>) => ({ ...body, ...(range.from ? { from: range.from } : {}), ...(range.to ? { to: range.to } : {}) });

/** Runs one `POST /analytics/<report>` and keeps its answer, error and status; `csv` downloads the same body as CSV. */
export function useReport<T>(report: string) {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const [status, setStatus] = useState<string>();
  const [busy, setBusy] = useState(false);
  const run = async (body: unknown) => {
    setBusy(true);
    setStatus(`Running the ${report} report…`);
    try {
      setData(await api<T>(`/analytics/${report}`, { json: body }));
      setError(undefined);
      setStatus(`The ${report} report is ready.`);
    } catch (e) {
      setError(describe(e));
      setStatus(undefined);
    } finally {
      setBusy(false);
    }
  };
  const csv = async (body: unknown) => {
    try {
      await downloadCsv(`/analytics/${report}`, body, `${report}.csv`);
      setStatus(`Downloaded ${report}.csv.`);
    } catch (e) {
      setError(describe(e));
    }
  };
  return { data, error, status, busy, run, csv };
}

/** The run and CSV buttons of a report. Reports change nothing, so every role runs them (viewers included). */
export function ReportActions(props: { name: string; busy: boolean; onRun(): void; onCsv(): void; error?: string; status?: string }) {
  return (
    <>
      <div className="row">
        <button type="button" onClick={props.onRun} disabled={props.busy}>
          Run {props.name}
        </button>
        <button type="button" className="secondary" onClick={props.onCsv}>
          Download {props.name} CSV
        </button>
      </div>
      <ErrorText error={props.error} />
      <Status text={props.status} />
    </>
  );
}

/** Parses a comma-separated list of event names. */
export const names = (text: string) => text.split(',').map((s) => s.trim()).filter(Boolean);

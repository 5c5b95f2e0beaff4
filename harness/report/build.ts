import { join } from 'node:path';
import { readResults, RUN_FILES, writeFileAtomic } from '../experiment/run-dir.js';
import { readHistoryFile } from '../history/reader.js';
import { renderReport } from './html.js';

/** (Re)builds `report.html` of a run folder from its results.json and history.jsonl. */
export async function buildReport(runDir: string): Promise<string> {
  const results = readResults(runDir);
  const { events } = readHistoryFile(join(runDir, RUN_FILES.history));
  const html = await renderReport({ results, events });
  const out = join(runDir, RUN_FILES.report);
  writeFileAtomic(out, html);
  return out;
}

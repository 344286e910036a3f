/**
 * Worker thread for `engine-bench.ts --workers N`: summarises mails off the main thread.
 * In: `{ id, raw }` (raw transferred). Out: `{ id, summary }`.
 */
import { parentPort } from 'node:worker_threads';
import { summarizeMail } from '@mailscope/protocols/mail-summary';
import type { MailSummary } from '@mailscope/protocols/events';

export interface SummaryRequest {
  readonly id: number;
  readonly raw: Uint8Array;
}

export interface SummaryResponse {
  readonly id: number;
  readonly summary: MailSummary;
}

const port = parentPort;
if (port !== null) {
  port.on('message', (req: SummaryRequest) => {
    void summarizeMail(req.raw).then((summary) => {
      const res: SummaryResponse = { id: req.id, summary };
      port.postMessage(res);
    });
  });
}

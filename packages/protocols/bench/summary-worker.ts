/**
 * Worker thread for `engine-bench.ts --workers N`: summarises mails off the main thread, a batch
 * per message. In: `{ raws }` (their buffers transferred). Out: `{ summaries }`, in the same order.
 */
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { summarizeMail } from '@mailscope/protocols/mail-summary';
import type { MailSummary } from '@mailscope/protocols/events';

export interface SummaryRequest {
  readonly raws: readonly Uint8Array[];
}

export interface SummaryResponse {
  readonly summaries: readonly MailSummary[];
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

const port = parentPort;
if (port !== null) {
  port.on('message', (req: SummaryRequest) => {
    // One mail at a time: parsing them concurrently would hold every parse's state at once.
    void (async () => {
      const summaries: MailSummary[] = [];
      for (const raw of req.raws) summaries.push(await summarizeMail(raw, { sha256 }));
      const res: SummaryResponse = { summaries };
      port.postMessage(res);
    })();
  });
}

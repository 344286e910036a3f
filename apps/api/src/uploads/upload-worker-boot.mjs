// Worker threads do not inherit the parent's `--import tsx` loader: register it here, then load
// the TypeScript worker (upload-worker.ts).
import { register } from 'tsx/esm/api';

register();
await import('./upload-worker.ts');

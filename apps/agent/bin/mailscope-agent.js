#!/usr/bin/env node
// The agent is TypeScript consumed as source (like every workspace package): register tsx's loader,
// then start the CLI.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');

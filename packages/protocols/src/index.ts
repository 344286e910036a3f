export * from './types.ts';
export * from './session.ts';
export * from './events.ts';
export * from './limits.ts';

/** @mailscope/shared: contracts shared by agent, API and UI. Subpaths (`@mailscope/shared/port-list`) work too. */
export * from './port-list.ts';
export * from './mail-settings.ts';
export * from './protocol-reference.ts';
export * from './agent-protocol.ts';

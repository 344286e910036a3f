/** A paperclip drawn inline: the emoji depends on fonts the browser may not have (offline, Linux). */
export function Paperclip({ title }: { title?: string }) {
  return (
    <svg width="12" height="12" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2.2" strokeLinecap="round" strokeLinejoin="round" role="img" aria-label={title ?? 'attachments'} style={{ verticalAlign: '-2px' }}>
      {title !== undefined && <title>{title}</title>}
      <path d="M21.44 11.05l-9.19 9.19a6 6 0 0 1-8.49-8.49l9.19-9.19a4 4 0 0 1 5.66 5.66l-9.2 9.19a2 2 0 0 1-2.83-2.83l8.49-8.48" />
    </svg>
  );
}

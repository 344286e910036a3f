'use client';
/**
 * A mail's HTML body, shown without trusting it: an iframe with `sandbox=""` (no scripts, no
 * same-origin, no forms, no popups, no top navigation, no meta refresh) whose srcdoc starts with a
 * Content-Security-Policy that lets nothing load from the network: tracking pixels, remote
 * images, styles and fonts are blocked; only data: images and fonts and inline styles render.
 */
import { useMemo } from 'react';
import styles from './mails.module.css';

export const MAIL_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:";

const BASE_STYLE = 'body{margin:10px 12px;font:14px/1.45 system-ui,-apple-system,"Segoe UI","DejaVu Sans",sans-serif;color:#1c2430;background:#fff;overflow-wrap:anywhere}';

const URL_ATTRS = ['src', 'srcset', 'href', 'background', 'poster', 'data', 'action', 'formaction', 'xlink:href'] as const;

export interface PreparedHtml {
  readonly srcdoc: string;
  /** References to the network (http:, https:, //host) that the policy keeps from loading. */
  readonly remote: number;
  /** cid: references (images attached to the mail); not shown either. */
  readonly inline: number;
}

const isRemote = (v: string): boolean => /^\s*(https?:)?\/\//i.test(v) || /(^|[\s,])https?:\/\//i.test(v);

/**
 * Builds the srcdoc. DOMParser gives an inert document (no script runs, nothing loads), so the
 * mail can be reshaped safely: the policy goes in as the first element of <head> (before anything
 * that could fetch), and link targets go, so a click cannot navigate the frame away to a remote page
 * (with `<base target="_blank">` and no allow-popups, a click opens nothing).
 */
export function prepareMailHtml(html: string): PreparedHtml {
  const meta = `<meta http-equiv="Content-Security-Policy" content="${MAIL_CSP}">`;
  const head = `${meta}<base target="_blank"><style>${BASE_STYLE}</style>`;
  if (typeof DOMParser === 'undefined') {
    return { srcdoc: `<!doctype html><html><head>${head}</head><body>${html}</body></html>`, remote: 0, inline: 0 };
  }
  const doc = new DOMParser().parseFromString(html, 'text/html');
  let remote = 0;
  let inline = 0;
  for (const el of Array.from(doc.querySelectorAll('*'))) {
    for (const attr of URL_ATTRS) {
      const v = el.getAttribute(attr);
      if (v === null) continue;
      if (/^\s*cid:/i.test(v)) inline++;
      else if (isRemote(v) && !(el.tagName === 'A' && attr === 'href')) remote++;
    }
    const style = el.getAttribute('style');
    if (style !== null && /url\(\s*['"]?\s*(https?:)?\/\//i.test(style)) remote++;
    if (el.hasAttribute('target')) el.removeAttribute('target');
  }
  for (const s of Array.from(doc.querySelectorAll('style'))) remote += (s.textContent.match(/url\(\s*['"]?\s*(https?:)?\/\/|@import/gi) ?? []).length;
  // Mail-supplied <base> elements would come before ours in tree order if left in <head>.
  for (const b of Array.from(doc.querySelectorAll('base'))) b.remove();
  const tpl = doc.createElement('template');
  tpl.innerHTML = head;
  doc.head.prepend(tpl.content);
  return { srcdoc: `<!doctype html>${doc.documentElement.outerHTML}`, remote, inline };
}

export function HtmlFrame({ html, title }: { html: string; title: string }) {
  const prepared = useMemo(() => prepareMailHtml(html), [html]);
  return (
    <div className="stack" style={{ gap: 8 }}>
      <div className="alert info" data-testid="remote-content-notice">
        <strong>Remote content blocked.</strong> Images, styles and fonts from the network are not loaded, scripts do not run and links do not open
        {prepared.remote > 0 && <> ({prepared.remote} remote reference{prepared.remote === 1 ? '' : 's'} in this mail)</>}
        {prepared.inline > 0 && <>; {prepared.inline} inline image{prepared.inline === 1 ? '' : 's'} (cid:) not shown, see the attachments</>}.
      </div>
      <iframe
        className={styles.frame}
        data-testid="mail-html-frame"
        title={title}
        sandbox=""
        referrerPolicy="no-referrer"
        srcDoc={prepared.srcdoc}
      />
    </div>
  );
}

/**
 * The BPF expression a live capture runs with, built from the mail-module settings: the SMTP and
 * POP3 server ports, ANDed with the user's capture filter. Pure; libpcap compiles the result (a
 * filter that does not compile is reported by live-capture.ts, naming the expression).
 */

export interface FilterSettings {
  readonly smtpPorts: readonly number[];
  readonly pop3Ports: readonly number[];
  /** Any-port detection needs every TCP connection: the port part widens to `tcp`. */
  readonly anyPort: boolean;
  /** The user's BPF expression, '' for none. */
  readonly captureFilter: string;
}

/**
 * `tcp port 25 or tcp port 587 or tcp port 110`, with a user filter
 * `(tcp port 25 or tcp port 587) and (host 192.0.2.10)`; any-port: `tcp` / `tcp and (host ...)`.
 * Ports are sorted and runs of three or more consecutive ports become one `tcp portrange a-b`,
 * so that even a list of every port stays a short expression (libpcap's parser and the kernel's
 * BPF program limit of 4096 instructions both care about length). No port and no any-port (which
 * the settings validator refuses) still gives `tcp`, never an empty filter that would capture
 * everything.
 */
export function buildBpfFilter(settings: FilterSettings): string {
  const user = settings.captureFilter.trim();
  const ports = [...new Set([...settings.smtpPorts, ...settings.pop3Ports])].sort((a, b) => a - b);
  let portPart: string;
  let terms = 1;
  if (settings.anyPort || ports.length === 0) {
    portPart = 'tcp';
  } else {
    const parts: string[] = [];
    for (let i = 0; i < ports.length; ) {
      let j = i;
      while (j + 1 < ports.length && ports[j + 1] === (ports[j] as number) + 1) j++;
      if (j - i >= 2) {
        parts.push(`tcp portrange ${ports[i]}-${ports[j]}`);
      } else {
        for (let k = i; k <= j; k++) parts.push(`tcp port ${ports[k]}`);
      }
      i = j + 1;
    }
    terms = parts.length;
    portPart = parts.join(' or ');
  }
  if (user === '') return portPart;
  return `${terms > 1 ? `(${portPart})` : portPart} and (${user})`;
}

/** The capture form's last choices, per browser: agent, interface per agent, filter. */
const KEY = 'mailscope.capture.v1';

export interface CapturePrefs {
  agentId?: string;
  interfaces?: Record<string, string>;
  filter?: string;
}

export function loadPrefs(): CapturePrefs {
  try {
    const v = JSON.parse(window.localStorage.getItem(KEY) ?? '{}') as unknown;
    return v !== null && typeof v === 'object' ? (v as CapturePrefs) : {};
  } catch {
    return {};
  }
}

export function savePrefs(change: (p: CapturePrefs) => CapturePrefs): void {
  try {
    window.localStorage.setItem(KEY, JSON.stringify(change(loadPrefs())));
  } catch {
    // private mode or full storage: the choice is simply not remembered
  }
}

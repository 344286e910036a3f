/**
 * What to do about a capture error. The agent's messages name the cause (and for permissions
 * already the setcap command); these add the next step where the message does not say it.
 */
export function captureHint(message: string): string | null {
  if (/permission|not permitted|CAP_NET_RAW|EPERM|EACCES/i.test(message)) {
    return /setcap/.test(message)
      ? null
      : 'Run the agent as root, or give node the capture capability: setcap cap_net_raw,cap_net_admin=eip "$(readlink -f "$(command -v node)")", then restart the agent.';
  }
  if (/not connected|agent restarted|interrupted/i.test(message)) {
    return 'Start the agent again on its host (npx mailscope-agent run --api … --token …); it appears here once connected.';
  }
  if (/filter|syntax|bpf|parse error/i.test(message)) {
    return 'Check the capture filter: a BPF expression such as host 192.0.2.10 or net 192.0.2.0/24. It is ANDed with the SMTP / POP3 ports of the settings.';
  }
  if (/no such device|no device|interface|NO_DEVICE/i.test(message)) {
    return 'Pick another interface: the list is what libpcap found on the agent\'s host when it connected.';
  }
  if (/libpcap|NO_LIBPCAP/i.test(message)) {
    return 'Install libpcap on the agent\'s host (Debian / Ubuntu: apt install libpcap0.8), then restart the agent.';
  }
  return null;
}

/**
 * How the REST routes reach capture agents. The socket.io /agent gateway implements it (it knows
 * which agents are connected); the routes only call it. Kept an interface so the API core and its
 * tests do not depend on the gateway.
 */

/** What an agent is asked to capture. */
export interface CaptureStartRequest {
  /** The Capture row already created for this capture (status 'running'). */
  readonly captureId: string;
  /** Interface name as the agent reported it. */
  readonly interface: string;
  /** The user's BPF filter, ANDed by the agent with the port filter of the current settings. */
  readonly filter: string;
}

export interface AgentControl {
  /**
   * Asks agent `agentId` to start capturing; resolves when the agent acknowledged, rejects with an
   * Error whose message says why (e.g. 'agent not connected', the agent's own error).
   */
  start(agentId: string, request: CaptureStartRequest): Promise<void>;
  /** Asks the agent running `captureId` to stop; resolves when acknowledged. Rejects like `start`. */
  stop(captureId: string): Promise<void>;
  /** Whether agent `agentId` has a live /agent connection now. */
  connected(agentId: string): boolean;
}

/** Thrown when no connection to the agent exists; the routes answer 409 with its message. */
export class AgentNotConnectedError extends Error {
  constructor(message = 'agent not connected') {
    super(message);
    this.name = 'AgentNotConnectedError';
  }
}

/** An AgentControl with no gateway behind it: no agent is ever connected. For tests and tools. */
export const disconnectedAgentControl: AgentControl = {
  start: () => Promise.reject(new AgentNotConnectedError()),
  stop: () => Promise.reject(new AgentNotConnectedError()),
  connected: () => false,
};
